//! The bilingual hints, one per check (ids are the check names, plus `hold_still`).
//! Directions are phrased for the person looking at the mirrored preview: "your left" is
//! the person's own left, which is also the left of the screen.

use crate::domain::Prompt;

/// Which way a hint points, when it has a direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    NoFace,
    ManyFaces,
    Closer,
    Back,
    /// Move to the person's own left / right.
    MoveLeft,
    MoveRight,
    /// The face is too low in the frame / too high.
    RaiseSeat,
    LowerSeat,
    TurnLeft,
    TurnRight,
    ChinUp,
    ChinDown,
    Level,
    Eyes,
    TooDark,
    TooBright,
    UnevenLight,
    Glare,
    Blur,
    Background,
    Hat,
    HoldStill,
}

impl Hint {
    pub fn check(self) -> &'static str {
        use Hint::*;
        match self {
            NoFace | ManyFaces => "face_count",
            Closer | Back => "face_size",
            MoveLeft | MoveRight | RaiseSeat | LowerSeat => "face_position",
            TurnLeft | TurnRight | ChinUp | ChinDown | Level => "head_pose",
            Eyes => "eyes_visible",
            TooDark | TooBright => "exposure",
            UnevenLight | Glare => "lighting",
            Blur => "sharpness",
            Background => "background",
            Hat => "accessory",
            HoldStill => "hold_still",
        }
    }

    pub fn text(self) -> (&'static str, &'static str) {
        use Hint::*;
        match self {
            NoFace => (
                "请正对镜头，让脸出现在画面中",
                "Face the camera so your face is in the picture",
            ),
            ManyFaces => ("画面中只能有您一个人", "Only one person may be in the picture"),
            Closer => ("请靠近一些", "Move a little closer"),
            Back => ("请后退一些", "Move back a little"),
            MoveLeft => ("请向左移一点", "Move a little to your left"),
            MoveRight => ("请向右移一点", "Move a little to your right"),
            RaiseSeat => ("请升高座椅", "Please raise the seat"),
            LowerSeat => ("请降低座椅", "Please lower the seat"),
            TurnLeft => (
                "请把头向左转一点，正对镜头",
                "Turn your head a little to your left, facing the camera",
            ),
            TurnRight => (
                "请把头向右转一点，正对镜头",
                "Turn your head a little to your right, facing the camera",
            ),
            ChinUp => ("请稍微抬起下巴", "Lift your chin slightly"),
            ChinDown => ("请稍微低一点头", "Lower your chin slightly"),
            Level => ("请把头摆正，不要歪头", "Keep your head straight, not tilted"),
            Eyes => (
                "请睁开双眼，摘下墨镜，不要遮挡眼睛",
                "Open your eyes, remove sunglasses and keep your eyes uncovered",
            ),
            TooDark => (
                "脸部太暗，请联系工作人员检查照明",
                "Your face is too dark; ask staff to check the lighting",
            ),
            TooBright => (
                "脸部过亮，请联系工作人员检查照明",
                "Your face is too bright; ask staff to check the lighting",
            ),
            UnevenLight => (
                "脸部光线不均匀，请正对灯光",
                "Uneven light on your face; face the light squarely",
            ),
            Glare => (
                "请避免额头反光：擦去油光，或稍微低一点头",
                "Avoid shine on your forehead: blot shiny skin or lower your head slightly",
            ),
            Blur => ("照片模糊，请保持不动", "The picture is blurred; please hold still"),
            Background => (
                "背景不符合要求，请坐在白色背景前，身后不要有人或物品",
                "The background must be plain and light; sit in front of the white backdrop with nothing behind you",
            ),
            Hat => ("请摘下帽子", "Please take off your hat or cap"),
            HoldStill => ("很好，请保持不动", "Good, hold still"),
        }
    }

    pub fn prompt(self) -> Prompt {
        let (zh, en) = self.text();
        Prompt::new(self.check(), zh, en)
    }
}
