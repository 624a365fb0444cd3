//! The HTML of the console's staff page: the kiosk tiles, the alert list and a kiosk's last
//! 24 hours, in Chinese or English. Everything that came from a kiosk or a member of staff
//! is escaped ([`esc`]); the page's script (`page.js`) only swaps in what this renders.

use super::store::{AlertRow, EventRow, KioskRow, OFFLINE};
use super::wire::Health;
use crate::staff::http::esc;
use crate::staff::{csrf_input, logout_form, SessionInfo};

/// The page's language: Chinese first, English on request (the `console_lang` cookie).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

/// The cookie that keeps the language choice.
pub const LANG_COOKIE: &str = "console_lang";

impl Lang {
    pub fn from_cookies(headers: &axum::http::HeaderMap) -> Lang {
        let en = headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .any(|c| c.trim() == format!("{LANG_COOKIE}=en"));
        if en {
            Lang::En
        } else {
            Lang::Zh
        }
    }

    pub fn t<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

/// An alert's or event's kind in words.
pub fn kind_label(kind: &str, lang: Lang) -> &str {
    let (zh, en) = match kind {
        "call_staff" => ("呼叫工作人员", "Call for staff"),
        "hand_off" => ("转人工窗口", "Hand-off to a counter"),
        "paper_near_end" => ("纸将用完", "Paper near end"),
        "paper_out" => ("缺纸", "Paper out"),
        "paper_reloaded" => ("已换纸", "Paper reloaded"),
        "printer_fault" => ("打印机故障", "Printer fault"),
        "printer_recovered" => ("打印机已恢复", "Printer recovered"),
        "camera_lost" => ("摄像头断开", "Camera lost"),
        "camera_back" => ("摄像头已恢复", "Camera back"),
        "review_unreachable" => ("审核服务无法连接", "Review service unreachable"),
        "review_back" => ("审核服务已恢复", "Review service back"),
        "admin_login" => ("管理员登录", "Admin login"),
        "pin_failed" => ("管理密码错误", "Wrong admin PIN"),
        "pin_locked_out" => ("管理密码已锁定", "Admin PIN locked out"),
        "quarantine" => ("记录已隔离", "Records quarantined"),
        OFFLINE => ("终端离线", "Kiosk offline"),
        other => (other, other),
    };
    lang.t(zh, en)
}

/// Whether an alert of this kind sounds on the page (a person is waiting).
pub fn loud(kind: &str) -> bool {
    matches!(kind, "call_staff" | "hand_off")
}

/// A time in China Standard Time, `MM-DD HH:MM:SS`.
pub fn when(ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .map(|t| {
            t.with_timezone(&crate::domain::china_time())
                .format("%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default()
}

fn health(h: Health, lang: Lang) -> &'static str {
    match (h, lang) {
        (Health::Ok, Lang::Zh) => "正常",
        (Health::Ok, Lang::En) => "OK",
        (Health::Fault, Lang::Zh) => "故障",
        (Health::Fault, Lang::En) => "fault",
        (Health::Absent, Lang::Zh) => "未安装",
        (Health::Absent, Lang::En) => "not fitted",
    }
}

/// A kiosk's faults in words (empty when all is well).
fn faults(k: &KioskRow, lang: Lang) -> Vec<String> {
    let hb = &k.heartbeat;
    let mut out = vec![];
    if hb.printer.status != "ready" {
        out.push(format!("{}: {}", lang.t("打印机", "Printer"), hb.printer.status));
    }
    if hb.printer.near_end {
        out.push(kind_label("paper_near_end", lang).to_string());
    }
    if hb.camera == Health::Fault {
        out.push(kind_label("camera_lost", lang).to_string());
    }
    if hb.idcard == Health::Fault {
        out.push(lang.t("读卡器故障", "ID-card reader fault").to_string());
    }
    out
}

/// One kiosk tile.
pub fn tile(k: &KioskRow, lang: Lang) -> String {
    let hb = &k.heartbeat;
    let faults = faults(k, lang);
    let class = if k.offline {
        "offline"
    } else if faults.is_empty() {
        "ok"
    } else {
        "fault"
    };
    let status = if k.offline {
        lang.t("离线", "offline")
    } else {
        lang.t("在线", "online")
    };
    let paper = hb
        .printer
        .paper_percent
        .map_or_else(|| "—".to_string(), |p| format!("{p}%"));
    let fault_list: String = if faults.is_empty() {
        format!("<li class=\"none\">{}</li>", lang.t("无故障", "No faults"))
    } else {
        faults.iter().map(|f| format!("<li>{}</li>", esc(f))).collect()
    };
    let counters: String = hb
        .counters
        .iter()
        .map(|(k, v)| format!("{} {v}", esc(k)))
        .collect::<Vec<_>>()
        .join(" · ");
    format!(
        "<a class=\"tile {class}\" data-kiosk=\"{id}\" href=\"/kiosk/{href}\">\
         <h3>{id} <span class=\"status\">{status}</span></h3>\
         <dl><dt>{l_state}</dt><dd class=\"state\">{state}</dd>\
         <dt>{l_paper}</dt><dd class=\"paper\">{paper}</dd>\
         <dt>{l_camera}</dt><dd>{camera}</dd>\
         <dt>{l_card}</dt><dd>{card}</dd>\
         <dt>{l_outbox}</dt><dd>{outbox}</dd>\
         <dt>{l_seen}</dt><dd class=\"seen\">{seen}</dd></dl>\
         <ul class=\"faults\">{fault_list}</ul><p class=\"counters\">{counters}</p></a>",
        id = esc(&k.id),
        href = form_urlencoded::byte_serialize(k.id.as_bytes()).collect::<String>(),
        l_state = lang.t("状态", "State"),
        state = esc(&hb.state),
        l_paper = lang.t("纸张", "Paper"),
        l_camera = lang.t("摄像头", "Camera"),
        camera = health(hb.camera, lang),
        l_card = lang.t("读卡器", "Card reader"),
        card = health(hb.idcard, lang),
        l_outbox = lang.t("待上传", "Outbox"),
        outbox = hb.outbox_depth,
        l_seen = lang.t("最后联系", "Last seen"),
        seen = when(k.last_seen_ms),
    )
}

/// One alert in the feed, with its acknowledge button while it is open.
pub fn alert_item(a: &AlertRow, me: &SessionInfo, lang: Lang) -> String {
    let state = if a.acked_ms.is_some() {
        "acked"
    } else if a.resolved_ms.is_some() {
        "resolved"
    } else {
        "open"
    };
    let code = a
        .code
        .as_deref()
        .map(|c| {
            format!(
                "<span class=\"code\">{} <b>{}</b></span>",
                lang.t("转交码", "Hand-off code"),
                esc(c)
            )
        })
        .unwrap_or_default();
    let reasons = if a.reasons.is_empty() {
        String::new()
    } else {
        format!("<span class=\"reasons\">{}</span>", esc(&a.reasons.join(", ")))
    };
    let action = match (&a.acked_by, a.acked_ms, a.resolved_ms) {
        (Some(by), Some(at), _) => format!(
            "<span class=\"acked-by\">{} {} · {}</span>",
            lang.t("已确认：", "Acknowledged by"),
            esc(by),
            when(at)
        ),
        (_, _, Some(at)) => format!(
            "<span class=\"resolved\">{} {}</span>",
            lang.t("已自动恢复", "Resolved"),
            when(at)
        ),
        _ => format!(
            "<form method=\"post\" action=\"/alerts/{id}/ack\">{csrf}\
             <button type=\"submit\" class=\"ack\">{label}</button></form>",
            id = a.id,
            csrf = csrf_input(me),
            label = lang.t("确认处理", "Acknowledge"),
        ),
    };
    format!(
        "<li class=\"alert {state}{loud}\" data-alert=\"{id}\" data-kind=\"{kind}\">\
         <div class=\"what\"><b class=\"kind\">{label}</b> <a class=\"kiosk\" href=\"/kiosk/{href}\">{kiosk}</a> \
         <time>{time}</time> {code} {reasons}</div><div class=\"act\">{action}</div></li>",
        id = a.id,
        loud = if loud(&a.kind) { " loud" } else { "" },
        kind = esc(&a.kind),
        label = esc(kind_label(&a.kind, lang)),
        href = form_urlencoded::byte_serialize(a.kiosk.as_bytes()).collect::<String>(),
        kiosk = esc(&a.kiosk),
        time = when(a.raised_ms),
    )
}

/// The part of the page the script refreshes: the tiles and the alerts.
pub fn board(kiosks: &[KioskRow], alerts: &[AlertRow], me: &SessionInfo, lang: Lang) -> String {
    let tiles: String = kiosks.iter().map(|k| tile(k, lang)).collect();
    let tiles = if tiles.is_empty() {
        format!(
            "<p class=\"empty\">{}</p>",
            lang.t("还没有终端发来心跳。", "No kiosk has sent a heartbeat yet.")
        )
    } else {
        tiles
    };
    let open = alerts
        .iter()
        .filter(|a| a.acked_ms.is_none() && a.resolved_ms.is_none())
        .count();
    let items: String = alerts.iter().map(|a| alert_item(a, me, lang)).collect();
    format!(
        "<section id=\"tiles-section\"><h2>{l_kiosks} ({nk})</h2><div id=\"tiles\">{tiles}</div></section>\
         <section id=\"alerts-section\"><h2>{l_alerts} <span id=\"open-count\">{open}</span></h2>\
         <ul id=\"alerts\">{items}</ul></section>",
        l_kiosks = lang.t("终端", "Kiosks"),
        nk = kiosks.len(),
        l_alerts = lang.t("提醒（24小时内）· 待处理", "Alerts (last 24 h) · open"),
    )
}

const CSS: &str = include_str!("page.css");

/// A whole staff page: head, the top bar (who, language, log out) and `main`.
pub fn page(title: &str, me: &SessionInfo, lang: Lang, body_attrs: &str, main: &str) -> String {
    let (other, other_label) = match lang {
        Lang::Zh => ("en", "English"),
        Lang::En => ("zh", "中文"),
    };
    format!(
        "<!doctype html><html lang=\"{html_lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{CSS}</style></head><body {body_attrs}>\
         <header><h1><a href=\"/\">{title}</a></h1><nav>\
         <button type=\"button\" id=\"sound\" class=\"sound\">{sound}</button>\
         <a id=\"lang\" class=\"button\" href=\"/lang/{other}\">{other_label}</a>\
         <span id=\"feed-state\"></span>{logout}</nav></header><main>{main}</main>\
         <script src=\"/console.js\"></script></body></html>",
        html_lang = lang.t("zh-CN", "en"),
        title = esc(title),
        sound = lang.t("开启提示音", "Turn sound on"),
        logout = logout_form(me),
    )
}

/// A kiosk's last 24 hours: its tile, its alerts and its events.
pub fn kiosk_history(k: &KioskRow, alerts: &[AlertRow], events: &[EventRow], me: &SessionInfo, lang: Lang) -> String {
    let alert_items: String = alerts.iter().map(|a| alert_item(a, me, lang)).collect();
    let rows: String = events
        .iter()
        .map(|e| {
            format!(
                "<tr class=\"event\" data-seq=\"{seq}\"><td>{received}</td><td>{seq}</td><td>{kind}</td>\
                 <td>{screen}</td><td class=\"code\">{code}</td><td>{reasons}</td></tr>",
                seq = e.seq,
                received = when(e.received_ms),
                kind = esc(kind_label(&e.kind, lang)),
                screen = esc(e.screen.as_deref().unwrap_or("")),
                code = esc(e.code.as_deref().unwrap_or("")),
                reasons = esc(&e.reasons.join(", ")),
            )
        })
        .collect();
    format!(
        "<p><a class=\"button\" href=\"/\">{back}</a></p><div id=\"tiles\">{tile}</div>\
         <h2>{l_alerts}</h2><ul id=\"alerts\">{alert_items}</ul>\
         <h2>{l_events}</h2><div class=\"scroll\"><table id=\"events\"><tr><th>{l_when}</th><th>#</th>\
         <th>{l_kind}</th><th>{l_screen}</th><th>{l_code}</th><th>{l_reasons}</th></tr>{rows}</table></div>",
        back = lang.t("← 全部终端", "← All kiosks"),
        tile = tile(k, lang),
        l_alerts = lang.t("最近24小时的提醒", "Alerts, last 24 hours"),
        l_events = lang.t("最近24小时的事件", "Events, last 24 hours"),
        l_when = lang.t("收到时间", "Received"),
        l_kind = lang.t("事件", "Event"),
        l_screen = lang.t("界面", "Screen"),
        l_code = lang.t("转交码", "Code"),
        l_reasons = lang.t("原因", "Reasons"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::wire::{Heartbeat, PrinterHealth};

    fn me() -> SessionInfo {
        SessionInfo {
            user: "wang<min>".into(),
            csrf: "c".repeat(64),
        }
    }

    #[test]
    fn what_kiosks_and_staff_sent_is_escaped() {
        let k = KioskRow {
            id: "hall-a".into(),
            last_seen_ms: 0,
            heartbeat: Heartbeat {
                kiosk_id: "hall-a".into(),
                seq: 1,
                version: "1".into(),
                state: "<img src=x onerror=alert(1)>".into(),
                printer: PrinterHealth {
                    status: "<b>jam</b>".into(),
                    paper_percent: Some(5),
                    near_end: true,
                },
                camera: Health::Ok,
                idcard: Health::Absent,
                outbox_depth: 0,
                free_disk_mb: 1,
                counters: [("<i>".to_string(), 1)].into_iter().collect(),
            },
            offline: false,
        };
        let html = tile(&k, Lang::Zh);
        assert!(
            !html.contains("<img") && !html.contains("<b>jam") && !html.contains("<i>"),
            "{html}"
        );
        assert!(html.contains("&lt;img src=x") && html.contains("纸将用完"), "{html}");
        let a = AlertRow {
            id: 7,
            kiosk: "hall-a".into(),
            kind: "hand_off".into(),
            seq: Some(3),
            code: Some("042917".into()),
            reasons: vec!["<face>".into()],
            raised_ms: 0,
            acked_by: Some("<bob>".into()),
            acked_ms: Some(1),
            resolved_ms: None,
        };
        let html = alert_item(&a, &me(), Lang::En);
        assert!(html.contains("042917") && html.contains("&lt;bob&gt;") && html.contains("&lt;face&gt;"));
        assert!(!html.contains("<bob>") && !html.contains("<face>"));
        let open = AlertRow {
            acked_by: None,
            acked_ms: None,
            ..a
        };
        let html = alert_item(&open, &me(), Lang::Zh);
        assert!(
            html.contains("action=\"/alerts/7/ack\"") && html.contains("name=\"csrf\""),
            "{html}"
        );
        assert!(html.contains("确认处理"));
    }
}
