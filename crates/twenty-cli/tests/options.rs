//! Global options and the commands around them: what `--sandbox` means for
//! each command, `--timeout`, hints in the command's own words, `help`
//! for any resource, and the sandbox's store per catalog.

mod support;

use support::Home;

#[test]
fn a_port_in_use_names_its_cause_once() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let home = Home::new();
    let run = home.run(&["sandbox", "serve", "--memory", "--port", &port]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let expected = format!("error: failed to start the sandbox: failed to bind 127.0.0.1:{port}: ");
    assert!(run.stderr.starts_with(&expected), "{}", run.stderr);
    assert_eq!(
        run.stderr
            .to_lowercase()
            .matches("address already in use")
            .count(),
        1,
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    drop(taken);
}
