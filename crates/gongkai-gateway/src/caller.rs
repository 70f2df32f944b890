//! Who is calling: the identity that authentication (archive.md §7) attaches to a request's
//! extensions once it has checked the caller's token. Services read it to record who submitted,
//! corrected or judged something; a request that carries none came through a gateway running
//! with authentication off.

/// The authenticated caller of one request: the name of the token it presented.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The token's name, the caller's identity (`source_system` of its submissions).
    pub name: String,
}

impl Caller {
    /// The caller attached to `request`, if authentication attached one.
    pub fn of<T>(request: &tonic::Request<T>) -> Option<&Caller> {
        request.extensions().get::<Caller>()
    }
}
