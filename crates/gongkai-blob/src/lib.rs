//! The content-addressed blob store of gongkai: the bytes of every submitted report, kept once
//! under `sha256/<hex>` whatever the number of submissions, and the derived artefacts that the
//! pipeline's workers hand to each other by claim check (`derived/<xy>/<report_id>.parsed.json`,
//! `….checked.json`) instead of pushing them through the broker.
//!
//! It sits on `object_store`, so the same code writes to a local directory (the default,
//! `./data/blobs`), to memory (`memory://`, for tests) or to S3-compatible storage
//! (`s3://bucket/prefix`, configured by the usual `AWS_*` variables, `AWS_ENDPOINT` and
//! `AWS_ALLOW_HTTP=true` for MinIO and the like).

mod local;

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use local::{INLINE_MAX_BYTES, LocalDir, SmallRead, storage_error};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};
use std::str::FromStr;
use std::sync::Arc;
use uuid::Uuid;

/// The default location: a directory relative to the working directory.
pub const DEFAULT_BLOB_STORE: &str = "./data/blobs";

/// What can go wrong with the store.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// `BLOB_STORE` names nothing this build can open.
    #[error("cannot open blob store {spec:?}: {reason}")]
    Config { spec: String, reason: String },
    /// A key that is not one of ours (`sha256/<64 hex>` or `derived/<xy>/<uuid>.<name>`).
    #[error("invalid blob key {key:?}: {reason}")]
    InvalidKey { key: String, reason: &'static str },
    /// The key is well formed but nothing is stored under it.
    #[error("no blob under {key}")]
    NotFound { key: String },
    /// The stored bytes no longer hash to their key: the store was tampered with or damaged.
    #[error("blob {key} is corrupt: its content hashes to {actual}")]
    Corrupt { key: String, actual: String },
    /// The storage itself failed (disk, network, permissions).
    #[error("blob store {operation} of {key} failed")]
    Storage {
        operation: &'static str,
        key: String,
        #[source]
        source: object_store::Error,
    },
}

impl BlobError {
    fn storage(operation: &'static str, key: &str, source: object_store::Error) -> BlobError {
        match source {
            object_store::Error::NotFound { .. } => BlobError::NotFound {
                key: key.to_owned(),
            },
            source => BlobError::Storage {
                operation,
                key: key.to_owned(),
                source,
            },
        }
    }
}

/// Where a content blob was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlob {
    /// `sha256/<hex>`.
    pub key: String,
    /// Lower-case hex SHA-256 of the bytes.
    pub sha256: String,
    pub size: u64,
    /// False when the same bytes were already stored (nothing was written).
    pub newly_written: bool,
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The key of the content blob whose SHA-256 is `sha256` (lower-case hex).
pub fn content_key(sha256: &str) -> String {
    format!("sha256/{sha256}")
}

/// The key of a derived artefact of a report: `derived/<xy>/<id>.<name>`, where `xy` are the
/// last two hex digits of the id (random in a UUID v7), e.g.
/// `derived/3f/0193…c3f.parsed.json`.
///
/// Why not a directory per report: on a local file system that is one more inode per report,
/// and a directory's (ext4 spreads new directories over the disk and searches for a place for
/// each). Writing a report's two artefacts cost 0.25–1.5 ms of CPU with a directory per report
/// and 0.14–0.33 ms with 256 shared ones (3,000 reports of two 27 KB files, written as the
/// store writes them, on this machine's ext4). The 256 directories keep each of them small.
pub fn derived_key(report_id: Uuid, name: &str) -> String {
    let id = report_id.as_hyphenated().to_string();
    let fan_out = &id[id.len() - 2..];
    format!("derived/{fan_out}/{id}.{name}")
}

/// A handle on the store; cheap to clone, safe to share between tasks.
#[derive(Clone)]
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
    /// For a local directory: small objects are read and written directly ([`local`]).
    local: Option<LocalDir>,
    description: String,
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobStore")
            .field("location", &self.description)
            .finish()
    }
}

impl BlobStore {
    /// Opens the store named by `spec` (the `BLOB_STORE` setting): a directory path (created
    /// if missing), `file:///abs/dir`, `memory://`, or `s3://bucket[/prefix][?option=value&…]`
    /// (options by object_store's names, e.g. `endpoint=http://minio:9000&allow_http=true`;
    /// credentials from the `AWS_*` variables).
    pub fn open(spec: &str) -> Result<BlobStore, BlobError> {
        let config_error = |reason: String| BlobError::Config {
            spec: spec.to_owned(),
            reason,
        };
        let spec_trimmed = spec.trim();
        if spec_trimmed.is_empty() {
            return Err(config_error("empty location".to_owned()));
        }
        let mut local = None;
        let store: Arc<dyn ObjectStore> = if spec_trimmed == "memory://" {
            Arc::new(object_store::memory::InMemory::new())
        } else if spec_trimmed.starts_with("s3://") {
            // `s3://bucket/prefix?endpoint=…&region=…`: the query sets object_store's S3
            // options by their names (`endpoint`, `region`, `allow_http`, `skip_signature`,
            // `virtual_hosted_style_request`, …) over what the `AWS_*` variables say.
            let (location, query) = spec_trimmed.split_once('?').unwrap_or((spec_trimmed, ""));
            let mut builder = object_store::aws::AmazonS3Builder::from_env().with_url(location);
            for pair in query.split('&').filter(|p| !p.is_empty()) {
                let (name, value) = pair.split_once('=').unwrap_or((pair, "true"));
                let key = object_store::aws::AmazonS3ConfigKey::from_str(name)
                    .map_err(|e| config_error(format!("unknown S3 option `{name}`: {e}")))?;
                builder = builder.with_config(key, value);
            }
            let store = builder.build().map_err(|e| config_error(e.to_string()))?;
            // A prefix after the bucket keeps our keys under it.
            let prefix = location
                .trim_start_matches("s3://")
                .split_once('/')
                .map(|(_, p)| p.trim_matches('/'))
                .unwrap_or("");
            if prefix.is_empty() {
                Arc::new(store)
            } else {
                Arc::new(object_store::prefix::PrefixStore::new(store, prefix))
            }
        } else {
            let dir = match spec_trimmed.strip_prefix("file://") {
                Some(path) => path,
                None if spec_trimmed.contains("://") => {
                    return Err(config_error(
                        "unsupported scheme (use a directory, file://, memory:// or s3://)"
                            .to_owned(),
                    ));
                }
                None => spec_trimmed,
            };
            std::fs::create_dir_all(dir)
                .map_err(|e| config_error(format!("cannot create directory: {e}")))?;
            let root = std::fs::canonicalize(dir)
                .map_err(|e| config_error(format!("cannot resolve directory: {e}")))?;
            let store = object_store::local::LocalFileSystem::new_with_prefix(&root)
                .map_err(|e| config_error(e.to_string()))?;
            local = Some(LocalDir::new(root));
            Arc::new(store)
        };
        Ok(BlobStore {
            store,
            local,
            description: spec_trimmed.to_owned(),
        })
    }

    /// Where this store keeps its blobs, as configured.
    pub fn location(&self) -> &str {
        &self.description
    }

    /// Stores `bytes` under their SHA-256. Storing the same bytes again writes nothing.
    pub async fn put_content(&self, bytes: Bytes) -> Result<StoredBlob, BlobError> {
        let sha256 = sha256_hex(&bytes);
        let key = content_key(&sha256);
        let path = Path::from(key.as_str());
        let size = bytes.len() as u64;
        if let Some(local) = &self.local {
            let existing = local
                .size(&key)
                .map_err(|e| BlobError::storage("head", &key, storage_error(e)))?;
            // A partial object of the wrong size is rewritten.
            let newly_written = existing != Some(size);
            if newly_written {
                // Written durably: the submitted document exists nowhere else. Small ones here,
                // large ones on the blocking pool.
                let written = if size <= INLINE_MAX_BYTES {
                    local.write(&key, &bytes, true)
                } else {
                    let (local, key) = (local.clone(), key.clone());
                    tokio::task::spawn_blocking(move || local.write(&key, &bytes, true))
                        .await
                        .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())))
                };
                written.map_err(|e| BlobError::storage("put", &key, storage_error(e)))?;
            }
            return Ok(StoredBlob {
                key,
                sha256,
                size,
                newly_written,
            });
        }
        match self.store.head(&path).await {
            Ok(meta) if meta.size == size => {
                return Ok(StoredBlob {
                    key,
                    sha256,
                    size,
                    newly_written: false,
                });
            }
            // A partial object of the wrong size is rewritten below.
            Ok(_) => {}
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(BlobError::storage("head", &key, e)),
        }
        self.store
            .put(&path, PutPayload::from_bytes(bytes))
            .await
            .map_err(|e| BlobError::storage("put", &key, e))?;
        Ok(StoredBlob {
            key,
            sha256,
            size,
            newly_written: true,
        })
    }

    /// Stores a derived artefact of a report under [`derived_key`], replacing an
    /// earlier one (a retried stage writes the same content again).
    pub async fn put_derived(
        &self,
        report_id: Uuid,
        name: &str,
        bytes: Bytes,
    ) -> Result<String, BlobError> {
        if name.is_empty() || name.contains('/') || name.starts_with('.') {
            return Err(BlobError::InvalidKey {
                key: name.to_owned(),
                reason: "a derived artefact's name is one plain path segment",
            });
        }
        let key = derived_key(report_id, name);
        if let Some(local) = self
            .local
            .as_ref()
            .filter(|_| bytes.len() as u64 <= INLINE_MAX_BYTES)
        {
            local
                .write(&key, &bytes, false)
                .map_err(|e| BlobError::storage("put", &key, storage_error(e)))?;
            return Ok(key);
        }
        self.store
            .put(&Path::from(key.as_str()), PutPayload::from_bytes(bytes))
            .await
            .map_err(|e| BlobError::storage("put", &key, e))?;
        Ok(key)
    }

    /// Deletes the derived artefacts `names` of a report (an artefact that is not there is
    /// fine): once a report is archived its intermediate artefacts are not needed any more
    /// (re-validation reads the archived document, re-parsing the submitted bytes).
    pub async fn delete_derived(&self, report_id: Uuid, names: &[&str]) -> Result<(), BlobError> {
        for name in names {
            self.delete(&derived_key(report_id, name)).await?;
        }
        Ok(())
    }

    /// Every derived artefact in the store with the report it belongs to and when it was
    /// written, as the store lists them (page by page: the listing is never held whole).
    /// Objects under `derived/` whose keys are not ours are left out.
    pub fn list_derived(&self) -> BoxStream<'static, Result<DerivedArtefact, BlobError>> {
        self.store
            .list(Some(&Path::from("derived")))
            .filter_map(|meta| {
                futures::future::ready(match meta {
                    Ok(meta) => {
                        let key = meta.location.to_string();
                        derived_report_id(&key).map(|report_id| {
                            Ok(DerivedArtefact {
                                report_id,
                                key,
                                written_at: std::time::SystemTime::from(meta.last_modified),
                            })
                        })
                    }
                    Err(e) => Some(Err(BlobError::storage("list", "derived/", e))),
                })
            })
            .boxed()
    }

    /// Deletes one derived artefact by its key, as [`BlobStore::list_derived`] found it (one
    /// that is no longer there is fine). Only a derived key is accepted: this never deletes a
    /// submitted document.
    pub async fn delete_derived_key(&self, key: &str) -> Result<(), BlobError> {
        if derived_report_id(key).is_none() {
            return Err(BlobError::InvalidKey {
                key: key.to_owned(),
                reason: "not a derived artefact's key",
            });
        }
        self.delete(key).await
    }

    /// Deletes what is stored under `key`, a key of ours (one that is not there is fine).
    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        if let Some(local) = &self.local {
            return local
                .remove(key)
                .map_err(|e| BlobError::storage("delete", key, storage_error(e)));
        }
        match self.store.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(BlobError::storage("delete", key, e)),
        }
    }

    /// The derived artefact `name` of a report, as [`BlobStore::put_derived`] stored it; one
    /// stored by a version before the fan-out (`derived/<id>/<name>`) is found as well, so that
    /// messages in flight across an upgrade still find their input.
    pub async fn get_derived(&self, report_id: Uuid, name: &str) -> Result<Bytes, BlobError> {
        match self.get(&derived_key(report_id, name)).await {
            Err(BlobError::NotFound { .. }) => {
                match self.get(&format!("derived/{report_id}/{name}")).await {
                    // Name the current key: that is where the artefact should be.
                    Err(BlobError::NotFound { .. }) => Err(BlobError::NotFound {
                        key: derived_key(report_id, name),
                    }),
                    other => other,
                }
            }
            other => other,
        }
    }

    /// The bytes under `key`. Content blobs are checked against their digest.
    pub async fn get(&self, key: &str) -> Result<Bytes, BlobError> {
        let path = checked_path(key)?;
        let small = match &self.local {
            Some(local) => match local.read_small(key) {
                Ok(SmallRead::Bytes(bytes)) => Some(Bytes::from(bytes)),
                Ok(SmallRead::NotFound) => {
                    return Err(BlobError::NotFound {
                        key: key.to_owned(),
                    });
                }
                Ok(SmallRead::TooLarge) => None,
                Err(e) => return Err(BlobError::storage("get", key, storage_error(e))),
            },
            None => None,
        };
        let bytes = match small {
            Some(bytes) => bytes,
            None => self
                .store
                .get(&path)
                .await
                .map_err(|e| BlobError::storage("get", key, e))?
                .bytes()
                .await
                .map_err(|e| BlobError::storage("get", key, e))?,
        };
        if let Some(expected) = key.strip_prefix("sha256/") {
            let actual = sha256_hex(&bytes);
            if actual != expected {
                return Err(BlobError::Corrupt {
                    key: key.to_owned(),
                    actual,
                });
            }
        }
        Ok(bytes)
    }

    /// The bytes under `key` as a stream of chunks, for sending large documents without holding
    /// them whole; not digest-checked (the caller streams before the end is known).
    pub async fn get_stream(
        &self,
        key: &str,
    ) -> Result<BoxStream<'static, Result<Bytes, BlobError>>, BlobError> {
        let path = checked_path(key)?;
        let result = self
            .store
            .get(&path)
            .await
            .map_err(|e| BlobError::storage("get", key, e))?;
        let owned_key = key.to_owned();
        Ok(result
            .into_stream()
            .map(move |chunk| chunk.map_err(|e| BlobError::storage("read", &owned_key, e)))
            .boxed())
    }

    /// Whether something is stored under `key`.
    pub async fn exists(&self, key: &str) -> Result<bool, BlobError> {
        let path = checked_path(key)?;
        match self.store.head(&path).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(BlobError::storage("head", key, e)),
        }
    }
}

/// A derived artefact found in the store by [`BlobStore::list_derived`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivedArtefact {
    /// The report whose stage wrote it.
    pub report_id: Uuid,
    /// Its key (`derived/<xy>/<id>.<name>`, or `derived/<id>/<name>` of the layout before the
    /// fan-out).
    pub key: String,
    /// When it was last written, as the store says.
    pub written_at: std::time::SystemTime,
}

/// The report a derived artefact's key belongs to, if `key` is one of ours.
fn derived_report_id(key: &str) -> Option<Uuid> {
    checked_path(key).ok()?;
    match key.split('/').collect::<Vec<_>>().as_slice() {
        ["derived", fan_out, file] if fan_out.len() == 2 => {
            file.get(..36).and_then(|id| Uuid::try_parse(id).ok())
        }
        ["derived", id, _] => Uuid::try_parse(id).ok(),
        _ => None,
    }
}

/// Only our own key shapes are accepted: keys arrive in broker messages and API calls, and a
/// `..` or an absolute path must never reach the storage.
fn checked_path(key: &str) -> Result<Path, BlobError> {
    let invalid = |reason| BlobError::InvalidKey {
        key: key.to_owned(),
        reason,
    };
    let segments: Vec<&str> = key.split('/').collect();
    match segments.as_slice() {
        ["sha256", hex] => {
            if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                return Err(invalid("expected sha256/<64 lower-case hex digits>"));
            }
        }
        ["derived", fan_out, file] if fan_out.len() == 2 => {
            let expected = "expected derived/<last two hex digits of the id>/<uuid>.<name>";
            let (id, name) = file.split_at_checked(36).ok_or_else(|| invalid(expected))?;
            let name = name.strip_prefix('.').ok_or_else(|| invalid(expected))?;
            if Uuid::try_parse(id).is_err()
                || !id.ends_with(fan_out)
                || name.is_empty()
                || name.starts_with('.')
            {
                return Err(invalid(expected));
            }
        }
        // The layout before the fan-out (one directory per report), still readable.
        ["derived", id, name] => {
            if Uuid::try_parse(id).is_err() || name.is_empty() || name.starts_with('.') {
                return Err(invalid("expected derived/<uuid>/<name>"));
            }
        }
        _ => return Err(invalid("not a sha256/ or derived/ key")),
    }
    Path::parse(key).map_err(|_| invalid("not a valid object path"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_outside_our_shapes_are_refused() {
        for bad in [
            "../etc/passwd",
            "/sha256/00",
            "sha256/ABC",
            "sha256/../../x",
            "derived/not-a-uuid/parsed.json",
            "derived/0191b5a0-0000-7000-8000-000000000000/../x",
            "derived/00/0191b5a0-0000-7000-8000-000000000001.parsed.json",
            "derived/01/0191b5a0-0000-7000-8000-000000000001..x",
            "derived/01/0191b5a0-0000-7000-8000-000000000001",
            "derived/01/0191b5a0-0000-7000-8000-000000000001x",
            "derived/01/../0191b5a0-0000-7000-8000-000000000001.x",
            "",
        ] {
            assert!(checked_path(bad).is_err(), "{bad} accepted");
        }
        let good = content_key(&sha256_hex(b"x"));
        assert!(checked_path(&good).is_ok());
        assert!(checked_path(&derived_key(Uuid::nil(), "parsed.json")).is_ok());
        assert!(checked_path(&derived_key(Uuid::now_v7(), "checked.json")).is_ok());
        assert!(checked_path("derived/0191b5a0-0000-7000-8000-000000000000/parsed.json").is_ok());
    }

    #[test]
    fn unknown_schemes_are_a_config_error() {
        assert!(matches!(
            BlobStore::open("ftp://x/y"),
            Err(BlobError::Config { .. })
        ));
        assert!(matches!(
            BlobStore::open("  "),
            Err(BlobError::Config { .. })
        ));
    }
}
