//! Why the printer cannot print: one enum from the device's status bytes up to the
//! session and the screens, so no layer parses an id back out of a text.

/// A fault that stops printing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PrinterFault {
    Offline,
    CoverOpen,
    PaperOut,
    CutterError,
    PrinterError,
    Disconnected,
    Timeout,
    /// No printer is configured (`printer = "none"`): the number is shown on screen.
    NotConfigured,
    /// The print journal on disk failed (the details are in the log).
    Journal,
    /// The slip could not be laid out or rendered (the details are in the log).
    Layout,
    /// The slip's file (PDF printer) could not be written (the details are in the log).
    Output,
}

impl PrinterFault {
    /// Stable id, as logged and shown to the operator.
    pub fn id(self) -> &'static str {
        match self {
            PrinterFault::Offline => "printer_offline",
            PrinterFault::CoverOpen => "cover_open",
            PrinterFault::PaperOut => "paper_out",
            PrinterFault::CutterError => "cutter_error",
            PrinterFault::PrinterError => "printer_error",
            PrinterFault::Disconnected => "printer_disconnected",
            PrinterFault::Timeout => "print_timeout",
            PrinterFault::NotConfigured => "no_printer",
            PrinterFault::Journal => "print_journal",
            PrinterFault::Layout => "receipt_layout",
            PrinterFault::Output => "print_output",
        }
    }
    pub fn zh(self) -> &'static str {
        match self {
            PrinterFault::Offline => "打印机离线",
            PrinterFault::CoverOpen => "打印机盖未关",
            PrinterFault::PaperOut => "打印纸用完",
            PrinterFault::CutterError => "切纸刀故障",
            PrinterFault::PrinterError => "打印机故障",
            PrinterFault::Disconnected => "打印机未连接",
            PrinterFault::Timeout => "打印超时",
            PrinterFault::NotConfigured => "未配置打印机：请记下屏幕上的回执号",
            PrinterFault::Journal => "打印记录出错",
            PrinterFault::Layout => "回执排版出错",
            PrinterFault::Output => "回执文件无法保存",
        }
    }
}

impl PrinterFault {
    /// What the waiting person reads (issue #15): the cause in everyday words and what
    /// to do, never the operator's id (`paper_out`) or a part's name.
    pub fn plain(self, en: bool) -> String {
        use PrinterFault::*;
        let (zh_cause, en_cause) = match self {
            PaperOut => ("打印机没纸了", "the printer is out of paper"),
            CoverOpen => ("打印机盖子没盖好", "the printer's cover is open"),
            NotConfigured => ("这台机器没有打印机", "this kiosk has no printer"),
            Offline | CutterError | PrinterError | Disconnected | Timeout | Journal | Layout | Output => {
                ("打印机出了故障", "the printer has a fault")
            }
        };
        if en {
            format!(
                "The receipt cannot print right now ({en_cause}). Note the number above, or ask at the service desk."
            )
        } else {
            format!("回执暂时打不出来（{zh_cause}）。请记下上面的回执号，或到服务台找工作人员。")
        }
    }
}

impl std::fmt::Display for PrinterFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.id(), self.zh())
    }
}

#[cfg(test)]
mod tests {
    use super::PrinterFault::{self, *};

    #[test]
    fn the_waiting_person_never_reads_an_operator_id() {
        let all: [PrinterFault; 11] = [
            Offline,
            CoverOpen,
            PaperOut,
            CutterError,
            PrinterError,
            Disconnected,
            Timeout,
            NotConfigured,
            Journal,
            Layout,
            Output,
        ];
        for f in all {
            for en in [false, true] {
                let t = f.plain(en);
                assert!(!t.contains(f.id()) && !t.contains('_'), "{f:?}: {t}");
                assert!(t.contains(if en { "number" } else { "回执号" }), "{f:?}: {t}");
            }
        }
        assert!(PaperOut.plain(false).contains("没纸"));
    }
}
