#!/usr/bin/env python3
"""Regenerates ui/translations/{zh,en}/LC_MESSAGES/kiosk.po from the @tr("…") strings in
ui/**/*.slint. The source strings are Simplified Chinese; English comes from EN below.
A string without an English entry fails this script (and the ui_translations test)."""
import pathlib, re, sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
EN = {
    "拍照须知": "Before the photo",
    "不戴帽子": "No hat",
    "头发不遮眉毛": "Hair off the eyebrows",
    "眼镜不反光": "No glare on glasses",
    "穿深色上衣": "Wear a dark top",
    "{} 秒后返回首页，您填写的信息将被清除": "Returning to the start in {} s; what you entered will be cleared",
    "下一步": "Next",
    "演示模式：照片不送审，回执不能使用": "Demo mode: photos are not reviewed; receipts cannot be used",
    "位置正确": "Position is right",
    "使用这张照片": "Use this photo",
    "关闭": "Close",
    "再办一项": "Another document",
    "删除": "Delete",
    "刷新诊断": "Run diagnostics",
    "取件码": "Claim code",
    "取消": "Cancel",
    "合上上盖，撕去多余纸头": "Close the cover and tear off the loose end",
    "呼叫工作人员": "Call staff",
    "回执号": "Receipt number",
    "姓名": "Name",
    "姓名（与身份证一致）": "Name (as on the ID card)",
    "完成": "Finish",
    "我知道了": "I understand",
    "再听一遍": "Hear it again",
    "审核仍在进行，请取走取件凭条": "Review still in progress: take your claim slip",
    "导出今日统计": "Export today's counters",
    "已呼叫工作人员": "Staff called",
    "已完成，下一步": "Done, next step",
    "已无重拍次数": "No retakes left",
    "开始": "Start",
    "您的回执号": "Your receipt number",
    "打印机暂停，请稍候": "Printer paused, please wait",
    "打印测试页": "Print a test slip",
    "打印测试页并检查": "Print a test slip and check it",
    "打开打印机上盖": "Open the printer cover",
    "拍照、审核、打印照片回执，全程约3分钟": "Photo, review and photo receipt in about 3 minutes",
    "换纸向导": "Paper reload",
    "摄像头画面": "Camera view",
    "操作员：回执纸即将用完": "Operator: receipt paper nearly out",
    "放入新纸卷，纸头朝外": "Insert the new roll, loose end outwards",
    "更换回执纸（第 {} 步，共 4 步）": "Reload paper (step {} of 4)",
    "有效期至 {}": "Valid until {}",
    "本机暂停服务": "Out of service",
    "正在上传审核，请稍候": "Uploading for review, please wait",
    "正在打印照片回执": "Printing your photo receipt",
    "正在打开摄像头…": "Starting the camera…",
    "测试页正常，完成换纸": "Test slip is fine: finish",
    "用手机扫码保存电子回执": "Scan with your phone to keep the electronic receipt",
    "电子回执二维码": "Electronic receipt QR code",
    "确定": "OK",
    "管理密码": "Admin PIN",
    "继续办理": "Continue",
    "维护人员：请输入管理密码": "Maintenance: enter the admin PIN",
    "维护菜单": "Maintenance",
    "自助拍摄证件照": "Self-service ID photos",
    "补打": "Reprint",
    "补打回执": "Reprint a receipt",
    "补打回执：请输入回执号": "Reprint: enter the receipt number",
    "证件照": "ID photo",
    "证件照自助机": "ID photo kiosk",
    "请保持不动": "Hold still",
    "请到人工窗口办理": "Please go to a staffed counter",
    "请取走照片回执": "Please take your photo receipt",
    "请填写证件信息": "Enter your details",
    "请对准轮廓": "Line up with the outline",
    "请正对镜头，把头和肩膀放进轮廓": "Face the camera; fit your head and shoulders in the outline",
    "请确认您的照片": "Check your photo",
    "请选择办理地区": "Choose the region",
    "本地办理，点这里": "Applying here? Tap this",
    "在其他地区办理": "Applying elsewhere",
    "请选择要办理的证件": "Choose the document",
    "身份证号码": "ID number",
    "返回": "Back",
    "返回维护菜单": "Back to maintenance",
    "还可以重拍 {} 次": "{} retakes left",
    "还在吗？": "Still there?",
    "退出维护": "Leave maintenance",
    "重拍": "Retake",
    "密码错误": "Wrong PIN",
    "尝试次数过多，请 {} 秒后再试": "Too many tries: wait {} s",
    # The first admin PIN on the touchscreen, the volume setting (issue #15).
    "管理密码文件无法读取：请在控制台运行 kiosk diag --set-pin": "The admin PIN file cannot be read: run kiosk diag --set-pin on the console",
    "首次设置管理密码：请输入设置码": "First admin PIN: enter the setup code",
    "设置码在控制台运行 kiosk diag --setup-code 获得，只能用一次": "Get the setup code on the console with kiosk diag --setup-code; it works once",
    "请设置新的管理密码（6 到 12 位数字）": "Choose the new admin PIN (6 to 12 digits)",
    "请再输入一次新的管理密码": "Enter the new admin PIN again",
    "设置码": "Setup code",
    "新管理密码": "New admin PIN",
    "再次输入新管理密码": "New admin PIN again",
    "还没有设置码：请在控制台运行 kiosk diag --setup-code": "No setup code yet: run kiosk diag --setup-code on the console",
    "设置码错误": "Wrong setup code",
    "设置码已过期：请在控制台重新运行 kiosk diag --setup-code": "The setup code has expired: run kiosk diag --setup-code again on the console",
    "新密码要 6 到 12 位数字": "The new PIN needs 6 to 12 digits",
    "两次输入的密码不一样，请重新设置": "The two PINs differ: choose the new PIN again",
    "无法保存管理密码，请查看日志": "Could not save the admin PIN: see the log",
    "音量 −10": "Volume −10",
    "音量 +10": "Volume +10",
    "音量：{}": "Volume: {}",
    # Consent, the card reader, hand-off and honest call-staff (issue #14).
    "请先阅读：您的照片和身份证号码怎么用": "Please read: how your photo and ID number are used",
    "个人信息使用说明": "How your personal information is used",
    "同意": "I agree",
    "不同意": "I do not agree",
    "好的，本次不办理了": "All right, nothing more will be done",
    "本机没有保存您的任何信息。需要办理时，可以到人工窗口。": "This kiosk kept none of your information. A staffed counter can help you any time.",
    "请到服务台求助": "Please ask at the service desk",
    "已通知工作人员，请稍候": "Staff have been told: please wait here",
    "没有通过的原因：{}": "What did not pass: {}",
    "请拿好转人工凭条，交给窗口工作人员": "Take the hand-off slip to the staff at the counter",
    "转人工号 {}": "Hand-off code {}",
    "请把身份证放在读卡区，或者在下面手动输入": "Place your ID card on the reader, or type your details below",
    "已读取身份证，请核对姓名和号码，然后点“下一步”": "ID card read: check the name and number, then tap Next",
    # The on-screen pinyin name keyboard (issue #14).
    "上一页": "Previous",
    "下一页": "More",
    "拼音": "Pinyin",
    "英文字母": "Latin letters",
    "间隔号": "Name dot",
    "空格": "Space",
    "清空": "Clear",
    "待选拼音": "Pinyin to convert",
    "请输入姓名的拼音，例如 zhang": "Type the name in pinyin, e.g. zhang",
    "没有这个拼音，请按“删除”修改": "No such pinyin: tap Delete to correct it",
    "英文字母：按证件上的顺序输入": "Latin letters: type the name as on your document",
    "请先点选候选的汉字，再点“下一步”": "Tap the character you mean first, then Next",
}


def msgids():
    ids = set()
    for f in sorted((ROOT / "ui").rglob("*.slint")):
        for m in re.finditer(r'@tr\("((?:[^"\\]|\\.)*)"', f.read_text(encoding="utf-8")):
            ids.add(m.group(1))
    return sorted(ids)


def esc(s):
    return s.replace("\\", "\\\\").replace('"', '\\"')


def write(lang, table):
    d = ROOT / "ui/translations" / lang / "LC_MESSAGES"
    d.mkdir(parents=True, exist_ok=True)
    out = [
        '# Generated by deploy/ui-po.py from the @tr strings in ui/; edit EN there.',
        'msgid ""',
        'msgstr ""',
        f'"Language: {lang}\\n"',
        '"MIME-Version: 1.0\\n"',
        '"Content-Type: text/plain; charset=UTF-8\\n"',
        '"Content-Transfer-Encoding: 8bit\\n"',
        '',
    ]
    for i in msgids():
        out += [f'msgid "{esc(i)}"', f'msgstr "{esc(table(i))}"', '']
    (d / "kiosk.po").write_text("\n".join(out), encoding="utf-8")


missing = [i for i in msgids() if i not in EN]
if missing:
    sys.exit("no English for: " + ", ".join(missing))
write("zh", lambda i: i)
write("en", lambda i: EN[i])
print(f"{len(msgids())} strings")
