fn main() -> std::process::ExitCode {
    kiosk::commands::main()
}
