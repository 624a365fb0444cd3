#!/usr/bin/env bash
# Renders the kiosk's voice prompts with espeak-ng: assets/voice/zh/<id>.wav (Mandarin)
# and assets/voice/en/<id>.wav (English), one line per id below: id|中文|English.
# The WAVs are committed, so builds never need espeak-ng; rerun this after changing a text.
# Ids: the ten capture-check names, hold_still, and one prompt per screen
# (src/ui/convert.rs `screen_prompt`); src/ui/audio.rs embeds the same list.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v espeak-ng >/dev/null || { echo "espeak-ng is missing: apt-get install espeak-ng" >&2; exit 2; }
command -v sox >/dev/null || { echo "sox is missing: apt-get install sox" >&2; exit 2; }
mkdir -p assets/voice/zh assets/voice/en
while IFS='|' read -r id zh en; do
  [ -z "$id" ] && continue
  # Slower than espeak's default (175 wpm): many users are elderly, the hall is noisy.
  espeak-ng -v cmn -s 150 -w "assets/voice/zh/$id.wav" "$zh"
  espeak-ng -v en-gb -s 145 -w "assets/voice/en/$id.wav" "$en"
  echo "$id: $zh / $en"
done <<'LIST'
face_count|请确保画面中只有您一个人|Only one person in the picture, please.
face_size|请调整距离，让头和肩膀在轮廓内|Move so that your head and shoulders fill the outline.
face_position|请移动到画面中间|Please move to the middle of the picture.
head_pose|请把头摆正，正对镜头|Keep your head straight and look at the camera.
eyes_visible|请睁开眼睛，不要遮挡眼睛|Please open your eyes, and keep them uncovered.
exposure|光线不合适，请稍等工作人员调整|The light is not right. Please wait for staff to adjust it.
lighting|脸上光线不均匀，请正对灯光|The light on your face is uneven. Please face the light.
sharpness|请保持不动|Please keep still.
background|请站到白色背景前|Please stand in front of the white background.
accessory|请摘下帽子|Please take off your hat.
hold_still|很好，请保持不动|Good. Please keep still.
welcome|欢迎使用证件照自助机。拍照前请摘下帽子，头发不要挡住眉毛，眼镜不要反光，最好穿深色上衣。准备好了请点开始|Welcome to the ID photo kiosk. Before the photo, please take off your hat, keep your hair off your eyebrows, avoid glare on glasses, and wear a dark top. Tap Start when you are ready.
choose_document|请选择要办理的证件|Please choose your document.
choose_region|请选择办理地区|Please choose where you are applying.
details|请输入姓名和证件号码|Please type your name and ID number.
card|请将身份证放在读卡区，或者在屏幕上输入|Please place your ID card on the card reader, or type your details on the screen.
consent|请看一下说明，同意请点同意|Please read the notice, and tap Agree if you agree.
declined|好的，本次不办理了，谢谢您|All right, nothing was done. Thank you.
posing|请正对镜头，把头和肩膀放进轮廓|Please look at the camera, and fit your head and shoulders in the outline.
review_photo|请确认您的照片|Please check your photo.
uploading|正在上传照片审核，请稍等|Sending your photo for review. Please wait.
printing|正在打印回执，回执从屏幕下方的出纸口出来|Printing your receipt. It comes out of the slot below the screen.
waiting|打印机暂停了，请稍等，工作人员马上来处理|The printer has paused. Please wait, staff are on their way.
take_receipt|请取走照片回执。请带上回执和身份证或户口本，到窗口办理|Please take your photo receipt. Bring it, with your ID card or household register, to the service window.
take_claim|审核还在进行，请取走取件凭条，稍后凭取件码领取回执|The review is still going on. Please take the claim slip, and collect your receipt later with its code.
see_staff|请到人工窗口办理|Please go to a staffed service window.
out_of_service|本机暂停服务，请到人工窗口办理|This kiosk is out of service. Please go to a staffed service window.
still_there|您还在吗？|Are you still there?
see_desk|请到服务台找工作人员帮忙|Please ask for help at the service desk.
LIST
# The chime before 请到服务台求助 (no hall console took the alert): two soft tones, no words.
sox -n -r 22050 -b 16 -c 1 assets/voice/zh/chime.wav synth 0.35 sine 880 fade q 0.01 0.35 0.2 : \
  synth 0.6 sine 660 fade q 0.01 0.6 0.4 vol 0.5
cp assets/voice/zh/chime.wav assets/voice/en/chime.wav
echo "chime: two tones"
