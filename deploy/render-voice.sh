#!/usr/bin/env bash
# Renders the kiosk's voice prompts into assets/voice/<id>.wav with espeak-ng (Mandarin).
# The WAVs are committed, so builds never need espeak-ng; rerun this after changing a text.
# Ids: the ten capture-check names, hold_still, and the screen prompts the UI plays.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v espeak-ng >/dev/null || { echo "espeak-ng is missing: apt-get install espeak-ng" >&2; exit 2; }
out=assets/voice
mkdir -p "$out"
while IFS='|' read -r id text; do
  [ -z "$id" ] && continue
  espeak-ng -v cmn -s 150 -w "$out/$id.wav" "$text"
  echo "$id: $text"
done <<'LIST'
face_count|请确保画面中只有您一个人
face_size|请调整距离，让头和肩膀在轮廓内
face_position|请移动到画面中间
head_pose|请把头摆正，正对镜头
eyes_visible|请睁开眼睛，不要遮挡眼睛
exposure|光线不合适，请稍等工作人员调整
lighting|脸上光线不均匀，请正对灯光
sharpness|请保持不动
background|请站到白色背景前
accessory|请摘下帽子
hold_still|很好，请保持不动
welcome|欢迎使用证件照自助机，请点击开始
choose_document|请选择要办理的证件
details|请填写证件信息
posing|请正对镜头，把头和肩膀放进轮廓
review_photo|请确认您的照片
take_receipt|请取走您的照片回执
see_staff|请到人工窗口办理
still_there|您还在吗？
consent|请看一下说明，同意请点同意
declined|好的，本次不办理了，谢谢您
card|请把身份证放在读卡区，或者手动输入
see_desk|请到服务台找工作人员帮忙
LIST
# The chime before 请到服务台求助 (no hall console took the alert): two soft tones.
command -v sox >/dev/null || { echo "sox is missing: apt-get install sox" >&2; exit 2; }
sox -n -r 22050 -b 16 -c 1 "$out/chime.wav" synth 0.35 sine 880 fade q 0.01 0.35 0.2 : \
  synth 0.6 sine 660 fade q 0.01 0.6 0.4 vol 0.5
echo "chime: two tones"
