//! The real `lvs-admin serve` checking web logins against a temp
//! piranha.passwd: the right password logs in with the user's role, a
//! wrong one does not, repeated failures lock, and no password reaches
//! the helper's log.

use access::auth::{AuthError, Authenticator as _};
use admin::client::{AsyncClient, Client};
use admin::login::HelperAuthenticator;
use admin::proto::LoginOutcome;
use testrig::admin::Helper;

const PASSWORD: &str = "c0rrect horse";

#[test]
fn logins_are_checked_limited_and_audited_without_the_password() {
    let hash = access::passwd::hash_password_with_rounds(PASSWORD, 1000).expect("hash");
    let mut helper = Helper::builder(env!("CARGO_BIN_EXE_lvs-admin"))
        .config("serial_no = 1\nservice = lvs\n")
        .logins(
            &format!("piranha:{hash}\nalice:{hash}\n"),
            "piranha admin\nalice operator\n",
        )
        .start();
    let socket = helper.socket();
    let c = Client::new(&socket);

    assert_eq!(
        c.login("alice", PASSWORD, "192.0.2.10").expect("login"),
        LoginOutcome::LoggedIn {
            user: "alice".into(),
            role: "operator".into(),
            method: "passwd".into()
        }
    );
    match c.login("alice", "wr0ng-1", "192.0.2.10").expect("login") {
        LoginOutcome::Rejected { reason } => assert_eq!(reason, "wrong password"),
        other => panic!("{other:?}"),
    }
    // The web's end, through the async client on a runtime.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let web = HelperAuthenticator::new(AsyncClient::new(&socket), rt.handle().clone());
    let who = std::thread::scope(|s| {
        s.spawn(|| web.login("piranha", PASSWORD, "198.51.100.7"))
            .join()
            .expect("thread")
    })
    .expect("piranha logs in");
    assert_eq!(
        (who.user.as_str(), who.role),
        ("piranha", access::Role::Admin)
    );
    assert!(matches!(
        web.login("piranha", "wr0ng-web", "198.51.100.7"),
        Err(AuthError::Rejected(_))
    ));

    // Five failures for one name lock it, from any source; the right
    // password is then refused unchecked.
    for i in 2..=5 {
        let outcome = c
            .login("alice", &format!("wr0ng-{i}"), &format!("203.0.113.{i}"))
            .expect("login");
        if i < 5 {
            assert!(
                matches!(outcome, LoginOutcome::Rejected { .. }),
                "{i}: {outcome:?}"
            );
        } else {
            assert!(
                matches!(outcome, LoginOutcome::Locked { .. }),
                "{outcome:?}"
            );
        }
    }
    assert!(matches!(
        c.login("alice", PASSWORD, "192.0.2.99").expect("login"),
        LoginOutcome::Locked { retry_after } if retry_after > 0
    ));
    // Others are not locked by alice's failures.
    assert!(matches!(
        c.login("piranha", PASSWORD, "192.0.2.11").expect("login"),
        LoginOutcome::LoggedIn { .. }
    ));

    helper.kill();
    let text = helper.log();
    let audits = text.lines().filter(|l| l.contains("audit: login")).count();
    assert_eq!(audits, 10, "every attempt audited once:\n{text}");
    assert!(
        text.contains("audit: login-ok user=alice source=192.0.2.10 method=passwd"),
        "{text}"
    );
    assert!(text.contains("reason=locked"), "{text}");
    for secret in [PASSWORD, "c0rrect", "wr0ng"] {
        assert!(!text.contains(secret), "{secret:?} in the log:\n{text}");
    }
    assert!(!text.contains(&hash), "{text}");
}
