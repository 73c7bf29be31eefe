//! The secret source's contract, and the alert consumer's resolution over it: every name
//! asked for that exists comes back decrypted, more than one SSM call's worth (ten) included;
//! names that do not exist are absent; a reference to a missing one stops start-up with a
//! permanent error naming it; values never print.

use alert_consumer::secrets::{SecretRef, Secrets};
use pulse_core::ports::SecretSource;

/// The parameters a source under contract must hold: `/pulse/contract/p0` .. `p11` with the
/// values `value-0` .. `value-11`.
pub fn parameters() -> Vec<(String, String)> {
    (0..12)
        .map(|i| (format!("/pulse/contract/p{i}"), format!("value-{i}")))
        .collect()
}

/// Runs every contract on a source holding [`parameters`].
pub async fn suite<S: SecretSource + Sync>(source: &S) {
    every_name_comes_back(source).await;
    missing_names_are_absent(source).await;
    a_missing_reference_is_a_permanent_error_naming_it(source).await;
}

pub async fn every_name_comes_back<S: SecretSource>(source: &S) {
    let params = parameters();
    let names: Vec<String> = params.iter().map(|(n, _)| n.clone()).collect();
    let got = source.fetch(&names).await.unwrap();
    assert_eq!(got.len(), params.len(), "all {} names", params.len());
    for (name, value) in &params {
        assert_eq!(got[name].expose(), value, "{name}");
    }
    assert!(
        !format!("{got:?}").contains("value-"),
        "values never print: {got:?}"
    );
    assert!(source.fetch(&[]).await.unwrap().is_empty());
}

pub async fn missing_names_are_absent<S: SecretSource>(source: &S) {
    let names = vec![
        "/pulse/contract/p0".to_string(),
        "/pulse/contract/missing".to_string(),
    ];
    let got = source.fetch(&names).await.unwrap();
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        vec!["/pulse/contract/p0"],
        "the missing name is absent, not an error"
    );
}

pub async fn a_missing_reference_is_a_permanent_error_naming_it<S: SecretSource + Sync>(
    source: &S,
) {
    let refs = [
        SecretRef::Ssm("p1".into()),
        SecretRef::Ssm("/pulse/contract/p2".into()),
        SecretRef::Value("inline".into()),
    ];
    let secrets = Secrets::resolve(&refs, Some("/pulse/contract"), source)
        .await
        .unwrap();
    assert_eq!(secrets.get(&refs[0]).unwrap().expose(), "value-1");
    assert_eq!(secrets.get(&refs[1]).unwrap().expose(), "value-2");

    let refs = [SecretRef::Ssm("p3".into()), SecretRef::Ssm("gone".into())];
    let err = Secrets::resolve(&refs, Some("/pulse/contract"), source)
        .await
        .unwrap_err();
    assert!(!err.retryable, "a missing parameter is permanent: {err}");
    assert!(
        err.to_string().contains("/pulse/contract/gone"),
        "the error names the parameter: {err}"
    );
}
