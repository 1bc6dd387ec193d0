fn main() {
    std::process::exit(mrctl::run());
}
