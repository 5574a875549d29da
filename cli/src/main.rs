//! `waymark`: run, validate and serve ASL state machines. All the work is in the library.

fn main() {
    let code = waymark_cli::main(std::env::args_os());
    std::process::exit(code);
}
