//! Who may call what (archive.md §7): the four [`Scope`]s, the scope every method of
//! `gongkai.v1.ReportService` needs ([`access`]), and the bearer tokens callers present
//! ([`Token`]: generation, parsing of the `authorization` header, hashing).
//!
//! Pure: no I/O, no database, no gRPC. The archive stores what [`Token::sha256`] gives (never
//! the token), the gateway's authentication layer calls [`access`] and [`bearer`] on every
//! request, and `gongkai token create` calls [`Token::generate`].
//!
//! Scopes are independent: `admin` does not imply `read`; a token gets exactly the scopes its
//! holder needs (least privilege, and a leaked read-only token can never correct a report).

#![forbid(unsafe_code)]

use sha2::{Digest, Sha256};
use std::fmt;

/// A scope of archive.md §7. The words are the public contract (`--scopes submit,read`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// SubmitReport, SubmitReports.
    Submit,
    /// Everything that reads the archive.
    Read,
    /// Reviewers' judgements: corrections and finding dispositions.
    Review,
    /// Re-validation, batch retries, agency aliases, the DLQ commands.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::Submit, Scope::Read, Scope::Review, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Submit => "submit",
            Scope::Read => "read",
            Scope::Review => "review",
            Scope::Admin => "admin",
        }
    }

    /// The scope named `word` (exactly as written in §7).
    pub fn from_word(word: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == word.trim())
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A scope list that could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScopeError {
    #[error("unknown scope {0:?} (submit, read, review, admin)")]
    Unknown(String),
    #[error("no scope given (submit, read, review, admin)")]
    Empty,
}

/// Reads `submit,read` into scopes, sorted and without repeats.
pub fn parse_scopes(list: &str) -> Result<Vec<Scope>, ScopeError> {
    let mut scopes = Vec::new();
    for word in list.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        scopes.push(Scope::from_word(word).ok_or_else(|| ScopeError::Unknown(word.to_owned()))?);
    }
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() {
        return Err(ScopeError::Empty);
    }
    Ok(scopes)
}

/// The gRPC service whose methods [`METHOD_SCOPES`] classifies.
pub const REPORT_SERVICE: &str = "gongkai.v1.ReportService";

/// The scope of every method of `gongkai.v1.ReportService`, by gRPC method name (§7). A
/// method missing here needs `admin` (see [`access`]); a test checks that every method of the
/// proto is listed, so none ships unclassified.
pub const METHOD_SCOPES: &[(&str, Scope)] = &[
    ("SubmitReport", Scope::Submit),
    ("SubmitReports", Scope::Submit),
    ("GetReport", Scope::Read),
    ("WatchReport", Scope::Read),
    ("ListReports", Scope::Read),
    ("GetDocument", Scope::Read),
    ("ListVersions", Scope::Read),
    ("GetBatch", Scope::Read),
    ("ListBatches", Scope::Read),
    ("WatchBatch", Scope::Read),
    ("ListMetrics", Scope::Read),
    ("QueryMetrics", Scope::Read),
    ("ExportCells", Scope::Read),
    ("ExportMetrics", Scope::Read),
    ("CorrectReport", Scope::Review),
    ("SetFindingDisposition", Scope::Review),
    ("RevalidateReports", Scope::Admin),
    ("RetryBatch", Scope::Admin),
    ("SetAgencyAlias", Scope::Admin),
    ("ListAgencyAliases", Scope::Admin),
];

/// What a request path needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Health checks and reflection: no token (§7).
    Open,
    /// A token with this scope.
    Needs(Scope),
}

/// The access a gRPC request path (`/package.Service/Method`) needs. Health and reflection
/// are open; a method of `ReportService` needs its scope; anything else, an unknown method of
/// `ReportService` included, needs `admin`: failing closed, a method added without a scope is
/// reachable only by administrators until it is classified, never by every token holder.
pub fn access(path: &str) -> Access {
    let Some((service, method)) = path.strip_prefix('/').and_then(|p| p.split_once('/')) else {
        return Access::Needs(Scope::Admin);
    };
    match service {
        "grpc.health.v1.Health"
        | "grpc.reflection.v1.ServerReflection"
        | "grpc.reflection.v1alpha.ServerReflection" => Access::Open,
        REPORT_SERVICE => Access::Needs(
            METHOD_SCOPES
                .iter()
                .find(|(name, _)| *name == method)
                .map_or(Scope::Admin, |(_, scope)| *scope),
        ),
        _ => Access::Needs(Scope::Admin),
    }
}

/// The prefix of every token, so that a leaked one is recognisable (secret scanners, logs).
pub const TOKEN_PREFIX: &str = "gk_";
/// Random bytes in a token: 256 bits.
const TOKEN_RANDOM_BYTES: usize = 32;
/// The longest `authorization` value looked at; longer ones are refused unread.
pub const MAX_TOKEN_CHARS: usize = 256;

/// A bearer token: `gk_` and 64 hexadecimal digits of randomness from the operating system.
/// Shown once when created; only [`Token::sha256`] is stored. A fast hash is enough: the
/// token has 256 random bits, so there is nothing to guess from its digest, unlike a password.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(…)")
    }
}

/// The operating system gave no randomness.
#[derive(Debug, thiserror::Error)]
#[error("cannot read random bytes from the operating system: {0}")]
pub struct RandomError(String);

impl Token {
    /// A new random token.
    pub fn generate() -> Result<Token, RandomError> {
        let mut bytes = [0u8; TOKEN_RANDOM_BYTES];
        getrandom::fill(&mut bytes).map_err(|e| RandomError(e.to_string()))?;
        Ok(Token(format!("{TOKEN_PREFIX}{}", hex::encode(bytes))))
    }

    /// The token as the caller presents it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Lower-case hex SHA-256 of the token: what the archive stores and looks up.
    pub fn sha256(&self) -> String {
        token_sha256(&self.0)
    }
}

/// Lower-case hex SHA-256 of a presented token's text.
pub fn token_sha256(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Why an `authorization` header gives no token.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BearerError {
    #[error("no token: send `authorization: Bearer <token>` (gongkai --token / GONGKAI_TOKEN)")]
    Missing,
    #[error("the authorization header is not `Bearer <token>`")]
    Malformed,
}

/// The token of an `authorization` header value (`Bearer <token>`, the scheme in any case).
/// Says nothing of whether the token is known; it only refuses what cannot be one.
pub fn bearer(header: Option<&[u8]>) -> Result<&str, BearerError> {
    let value = header.ok_or(BearerError::Missing)?;
    if value.len() > MAX_TOKEN_CHARS {
        return Err(BearerError::Malformed);
    }
    let value = std::str::from_utf8(value).map_err(|_| BearerError::Malformed)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(BearerError::Malformed)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer")
        || token.is_empty()
        || !token.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(BearerError::Malformed);
    }
    Ok(token)
}

/// Whether `name` can name a token (and so a caller and a `source_system`): 1–64 characters,
/// none of them a control character or white space at either end.
pub fn valid_token_name(name: &str) -> bool {
    let chars = name.chars().count();
    (1..=64).contains(&chars) && name.trim() == name && !name.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use prost::Message;

    #[test]
    fn every_method_of_the_proto_has_its_scope() {
        let set =
            prost_types::FileDescriptorSet::decode(gongkai_proto::v1::FILE_DESCRIPTOR_SET).unwrap();
        let service = set
            .file
            .iter()
            .flat_map(|f| f.service.iter())
            .find(|s| s.name() == "ReportService")
            .unwrap();
        assert!(!service.method.is_empty());
        for method in &service.method {
            assert!(
                METHOD_SCOPES.iter().any(|(name, _)| *name == method.name()),
                "gongkai.v1.ReportService/{} has no scope in METHOD_SCOPES",
                method.name()
            );
        }
    }

    #[test]
    fn paths_are_classified_as_section_7_says() {
        let path = |m: &str| format!("/gongkai.v1.ReportService/{m}");
        assert_eq!(access(&path("SubmitReports")), Access::Needs(Scope::Submit));
        assert_eq!(access(&path("GetDocument")), Access::Needs(Scope::Read));
        assert_eq!(access(&path("WatchBatch")), Access::Needs(Scope::Read));
        assert_eq!(access(&path("CorrectReport")), Access::Needs(Scope::Review));
        assert_eq!(access(&path("RetryBatch")), Access::Needs(Scope::Admin));
        assert_eq!(access(&path("SomethingNew")), Access::Needs(Scope::Admin));
        assert_eq!(access("/grpc.health.v1.Health/Check"), Access::Open);
        assert_eq!(
            access("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"),
            Access::Open
        );
        assert_eq!(access("/other.Service/Call"), Access::Needs(Scope::Admin));
        assert_eq!(access("garbage"), Access::Needs(Scope::Admin));
    }

    #[test]
    fn scope_lists_are_read_strictly() {
        assert_eq!(
            parse_scopes("read, submit,read").unwrap(),
            vec![Scope::Submit, Scope::Read]
        );
        assert_eq!(
            parse_scopes("read,write"),
            Err(ScopeError::Unknown("write".to_owned()))
        );
        assert_eq!(parse_scopes(" , "), Err(ScopeError::Empty));
    }

    #[test]
    fn tokens_are_random_and_only_their_digest_is_kept() {
        let a = Token::generate().unwrap();
        let b = Token::generate().unwrap();
        assert_ne!(a, b);
        assert!(a.expose().starts_with(TOKEN_PREFIX));
        assert_eq!(a.expose().len(), TOKEN_PREFIX.len() + 64);
        assert_eq!(a.sha256(), token_sha256(a.expose()));
        assert_eq!(a.sha256().len(), 64);
        assert!(!format!("{a:?}").contains(a.expose()));
    }

    #[test]
    fn bearer_headers() {
        assert_eq!(bearer(Some(b"Bearer gk_abc")), Ok("gk_abc"));
        assert_eq!(bearer(Some(b"bearer   gk_abc ")), Ok("gk_abc"));
        assert_eq!(bearer(None), Err(BearerError::Missing));
        for bad in [
            &b"Basic dXNlcjpwYXNz"[..],
            b"Bearer",
            b"Bearer ",
            b"gk_abc",
            b"Bearer a b",
            b"Bearer \xff",
        ] {
            assert_eq!(bearer(Some(bad)), Err(BearerError::Malformed), "{bad:?}");
        }
        let long = format!("Bearer {}", "x".repeat(MAX_TOKEN_CHARS));
        assert_eq!(bearer(Some(long.as_bytes())), Err(BearerError::Malformed));
    }

    #[test]
    fn token_names() {
        assert!(valid_token_name("crawler-江苏"));
        assert!(!valid_token_name(""));
        assert!(!valid_token_name(" padded"));
        assert!(!valid_token_name("line\nbreak"));
        assert!(!valid_token_name(&"x".repeat(65)));
    }
}
