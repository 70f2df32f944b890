//! The blob store against a real directory: content addressing, duplicates, derived
//! artefacts, corruption detection, streaming.

use bytes::Bytes;
use futures::StreamExt;
use gongkai_blob::{BlobError, BlobStore, content_key, derived_key, sha256_hex};
use uuid::Uuid;

#[tokio::test]
async fn same_bytes_are_stored_once_under_their_digest() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path().join("blobs").to_str().unwrap()).unwrap();
    let content =
        Bytes::from_static("洛阳市瀍河区人民政府2020年政府信息公开工作年度报告".as_bytes());
    let first = store.put_content(content.clone()).await.unwrap();
    assert!(first.newly_written);
    assert_eq!(first.sha256, sha256_hex(&content));
    assert_eq!(first.key, content_key(&first.sha256));
    assert_eq!(first.size, content.len() as u64);
    let file = dir.path().join("blobs").join(&first.key);
    assert_eq!(std::fs::read(&file).unwrap(), content.as_ref());

    let second = store.put_content(content.clone()).await.unwrap();
    assert!(!second.newly_written);
    assert_eq!(second.key, first.key);
    assert_eq!(store.get(&first.key).await.unwrap(), content);
    assert!(store.exists(&first.key).await.unwrap());
}

#[tokio::test]
async fn derived_artefacts_round_trip_and_replace() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(&format!("file://{}", dir.path().display())).unwrap();
    let id = Uuid::now_v7();
    let key = store
        .put_derived(id, "parsed.json", Bytes::from_static(b"{\"a\":1}"))
        .await
        .unwrap();
    let id_text = id.to_string();
    assert_eq!(
        key,
        format!("derived/{}/{id}.parsed.json", &id_text[id_text.len() - 2..])
    );
    store
        .put_derived(id, "parsed.json", Bytes::from_static(b"{\"a\":2}"))
        .await
        .unwrap();
    assert_eq!(store.get(&key).await.unwrap().as_ref(), b"{\"a\":2}");
    assert_eq!(
        store.get_derived(id, "parsed.json").await.unwrap().as_ref(),
        b"{\"a\":2}"
    );
    assert!(
        store
            .put_derived(id, "../x", Bytes::from_static(b"x"))
            .await
            .is_err()
    );
}

/// An artefact written before the fan-out (`derived/<id>/<name>`, a directory per report) is
/// still found, so that a message in flight across an upgrade finds its input; a missing one
/// is NotFound under the current key.
#[tokio::test]
async fn artefacts_of_the_earlier_layout_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path().to_str().unwrap()).unwrap();
    let id = Uuid::now_v7();
    let legacy = dir.path().join(format!("derived/{id}"));
    std::fs::create_dir_all(&legacy).unwrap();
    std::fs::write(legacy.join("checked.json"), b"{\"old\":true}").unwrap();
    assert_eq!(
        store
            .get_derived(id, "checked.json")
            .await
            .unwrap()
            .as_ref(),
        b"{\"old\":true}"
    );
    match store.get_derived(id, "parsed.json").await {
        Err(BlobError::NotFound { key }) => assert_eq!(key, derived_key(id, "parsed.json")),
        other => panic!("expected NotFound, got {other:?}"),
    }
}

#[tokio::test]
async fn missing_and_corrupt_blobs_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path().to_str().unwrap()).unwrap();
    let absent = content_key(&sha256_hex(b"never stored"));
    assert!(matches!(
        store.get(&absent).await,
        Err(BlobError::NotFound { .. })
    ));
    assert!(!store.exists(&absent).await.unwrap());

    let stored = store
        .put_content(Bytes::from_static(b"original"))
        .await
        .unwrap();
    std::fs::write(dir.path().join(&stored.key), b"tampered").unwrap();
    assert!(matches!(
        store.get(&stored.key).await,
        Err(BlobError::Corrupt { .. })
    ));
}

#[tokio::test]
async fn large_content_streams_back_whole() {
    let store = BlobStore::open("memory://").unwrap();
    let content: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let stored = store
        .put_content(Bytes::from(content.clone()))
        .await
        .unwrap();
    let mut stream = store.get_stream(&stored.key).await.unwrap();
    let mut back = Vec::new();
    while let Some(chunk) = stream.next().await {
        back.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(back, content);
}

/// Small objects are read and written directly and large ones through object_store; both end
/// up in the same layout, deduplicate the same way, and leave no staging file behind.
#[tokio::test]
async fn small_and_large_objects_share_one_layout() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path().to_str().unwrap()).unwrap();
    let small = Bytes::from(vec![7u8; 10_000]);
    let large = Bytes::from(
        (0..3 * 1024 * 1024)
            .map(|i: u32| (i % 251) as u8)
            .collect::<Vec<u8>>(),
    );
    for bytes in [&small, &large] {
        let first = store.put_content(bytes.clone()).await.unwrap();
        assert!(first.newly_written);
        assert!(dir.path().join(&first.key).is_file(), "{}", first.key);
        let again = store.put_content(bytes.clone()).await.unwrap();
        assert!(!again.newly_written);
        assert_eq!(store.get(&first.key).await.unwrap(), *bytes);
    }
    let id = Uuid::now_v7();
    store
        .put_derived(id, "big.json", large.clone())
        .await
        .unwrap();
    store
        .put_derived(id, "small.json", small.clone())
        .await
        .unwrap();
    assert_eq!(store.get_derived(id, "big.json").await.unwrap(), large);
    assert_eq!(store.get_derived(id, "small.json").await.unwrap(), small);

    fn files(dir: &std::path::Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files(&path, out);
            } else {
                out.push(path.display().to_string());
            }
        }
    }
    let mut all = Vec::new();
    files(dir.path(), &mut all);
    assert_eq!(all.len(), 4, "{all:?}");
    assert!(all.iter().all(|f| !f.contains('#')), "{all:?}");
}

#[tokio::test]
async fn derived_artefacts_are_listed_with_their_report_and_deleted_by_key_only() {
    use futures::TryStreamExt;
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path().to_str().unwrap()).unwrap();
    let document = store
        .put_content(Bytes::from_static(b"a report"))
        .await
        .unwrap();
    let first = Uuid::now_v7();
    let second = Uuid::now_v7();
    for name in ["parsed.json", "checked.json"] {
        store
            .put_derived(first, name, Bytes::from_static(b"{}"))
            .await
            .unwrap();
    }
    // One of the layout before the fan-out, a writer's staging file and a stranger's file.
    let earlier = dir.path().join(format!("derived/{second}"));
    std::fs::create_dir_all(&earlier).unwrap();
    std::fs::write(earlier.join("parsed.json"), b"{}").unwrap();
    let fan_out = dir
        .path()
        .join(gongkai_blob::derived_key(first, "x"))
        .parent()
        .unwrap()
        .to_path_buf();
    std::fs::write(fan_out.join(format!("{first}.parsed.json#7")), b"half").unwrap();
    std::fs::write(fan_out.join("notes.txt"), b"someone else's").unwrap();

    // A store with no artefact yet lists none (and no error).
    let empty = BlobStore::open(dir.path().join("empty").to_str().unwrap()).unwrap();
    let none: Vec<_> = empty.list_derived().try_collect().await.unwrap();
    assert!(none.is_empty());

    let mut listed: Vec<(Uuid, String)> = store
        .list_derived()
        .map_ok(|a| (a.report_id, a.key))
        .try_collect()
        .await
        .unwrap();
    listed.sort();
    let mut expected = vec![
        (first, gongkai_blob::derived_key(first, "parsed.json")),
        (first, gongkai_blob::derived_key(first, "checked.json")),
        (second, format!("derived/{second}/parsed.json")),
    ];
    expected.sort();
    assert_eq!(listed, expected);

    for (_, key) in &listed {
        store.delete_derived_key(key).await.unwrap();
        assert!(!store.exists(key).await.unwrap(), "{key}");
        // Deleting what is gone is fine.
        store.delete_derived_key(key).await.unwrap();
    }
    let refused = store.delete_derived_key(&document.key).await.unwrap_err();
    assert!(
        matches!(refused, gongkai_blob::BlobError::InvalidKey { .. }),
        "{refused:?}"
    );
    assert!(store.exists(&document.key).await.unwrap());
    assert!(fan_out.join("notes.txt").exists());
}
