//! Photos of a request's fault: uploaded as multipart, judged by their bytes, kept in the local
//! photo store (a fresh directory per test gateway), recorded by intake, read back through
//! signed URLs.

use serde_json::Value;

use crate::helpers::{TestApp, TestResponse, agent, spawn_app, violations};

/// A real JPEG of `w`×`h` pixels (a gradient, so it is not trivially compressible).
pub fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&img)
        .expect("encode a JPEG");
    out
}

/// A `multipart/form-data` body with one part `file`: its content type header and its bytes.
pub fn multipart(filename: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = format!("----photo{}", uuid::Uuid::new_v4().simple());
    let mut body = Vec::with_capacity(bytes.len() + 256);
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: image/jpeg\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

impl TestApp {
    /// POSTs `bytes` as the photo `filename` of request `no`, with a fresh Idempotency-Key.
    pub async fn upload_photo(
        &self,
        no: &str,
        token: &str,
        filename: &str,
        bytes: &[u8],
    ) -> TestResponse {
        let key = uuid::Uuid::new_v4().to_string();
        self.upload_photo_with_key(no, token, filename, bytes, &key)
            .await
    }

    pub async fn upload_photo_with_key(
        &self,
        no: &str,
        token: &str,
        filename: &str,
        bytes: &[u8],
        key: &str,
    ) -> TestResponse {
        self.send_upload(no, token, multipart(filename, bytes), key)
            .await
    }

    /// POSTs a multipart body built before (a retry sends the very same bytes).
    pub async fn send_upload(
        &self,
        no: &str,
        token: &str,
        (content_type, body): (String, Vec<u8>),
        key: &str,
    ) -> TestResponse {
        self.send(
            "POST",
            &format!("/v1/requests/{no}/photos"),
            Some(token),
            &[("content-type", &content_type), ("idempotency-key", key)],
            Some(body),
        )
        .await
    }
}

/// A gateway whose local photo store is `root` (to look at what it holds).
async fn spawn_with_store(root: &std::path::Path) -> TestApp {
    let root = root.display().to_string();
    crate::helpers::spawn_app_with(move |_, g| g.gateway.photos.local_root = root).await
}

/// Every file under `root` (the objects, and any upload left half-written).
fn stored_files(root: &std::path::Path) -> Vec<String> {
    fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(root, &mut out);
    out.sort();
    out
}

fn temp_root() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("photos-test-{}", uuid::Uuid::new_v4()))
}

fn text(r: &TestResponse) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

fn request_no(created: &Value) -> String {
    created["request_no"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_real_jpeg_is_stored_thumbnailed_and_read_back_through_its_signed_url() {
    // Arrange
    let app = spawn_app().await;
    let no = request_no(&app.create("SH01").await);
    let token = agent("SH01");
    let photo = jpeg(1024, 768);

    // Act
    let r = app
        .upload_photo(&no, &token, "kitchen tv.jpg", &photo)
        .await;

    // Assert: stored, measured and thumbnailed
    assert_eq!(r.status, 201, "{}", text(&r));
    assert_eq!(r.header("location"), format!("/v1/requests/{no}/photos"));
    let stored = r.json();
    assert_eq!(stored["content_type"], "image/jpeg");
    assert_eq!(stored["size_bytes"], photo.len() as u64);
    assert_eq!(
        (stored["width"].as_u64(), stored["height"].as_u64()),
        (Some(1024), Some(768))
    );
    assert_eq!(stored["filename"], "kitchen tv.jpg");
    assert_eq!(stored["uploaded_by"], "agent-SH01");
    use sha2::Digest;
    assert_eq!(stored["sha256"], hex::encode(sha2::Sha256::digest(&photo)));

    let list = app.get(&format!("/v1/requests/{no}/photos"), &token).await;
    assert_eq!(list.status, 200, "{}", text(&list));
    let items = list.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    let url = items[0]["url"].as_str().unwrap().to_owned();
    let thumb_url = items[0]["thumbnail_url"].as_str().unwrap().to_owned();

    // The signed URL needs no token and gives the very bytes.
    let got = app.send("GET", &url, None, &[], None).await;
    assert_eq!(got.status, 200, "{}", text(&got));
    assert_eq!(got.header("content-type"), "image/jpeg");
    assert_eq!(got.body.as_ref(), photo.as_slice());

    // The thumbnail is a JPEG of at most 320 px on the long side, same aspect.
    let thumb = app.send("GET", &thumb_url, None, &[], None).await;
    assert_eq!(thumb.status, 200);
    let t = image::load_from_memory_with_format(&thumb.body, image::ImageFormat::Jpeg).unwrap();
    assert_eq!((t.width(), t.height()), (320, 240));
    app.stop().await;
}

#[tokio::test]
async fn a_text_file_named_jpg_an_11_mib_file_and_the_tenth_photo_are_refused_naming_the_limit() {
    // Arrange
    let root = temp_root();
    let app = spawn_with_store(&root).await;
    let no = request_no(&app.create("SH01").await);
    let token = agent("SH01");

    // A text file with a photo's name: judged by its content.
    let r = app
        .upload_photo(
            &no,
            &token,
            "photo.jpg",
            b"this is not a photo, only text\n",
        )
        .await;
    assert_eq!(r.status, 415, "{}", text(&r));
    assert_eq!(r.header("content-type"), "application/problem+json");
    let v = violations(&r.json());
    assert!(v["file"].contains("not a JPEG, PNG or HEIC"), "{v:?}");

    // 11 MiB that start like a JPEG: refused at the limit, while it is read.
    let mut big = jpeg(64, 64);
    big.resize(11 * 1024 * 1024, 0);
    let r = app.upload_photo(&no, &token, "big.jpg", &big).await;
    assert_eq!(r.status, 413, "{}", text(&r));
    assert_eq!(r.header("content-type"), "application/problem+json");
    assert!(
        violations(&r.json())["file"].contains("10 MiB"),
        "{}",
        text(&r)
    );
    // Without an Idempotency-Key nothing reads it whole first: the handler counts the chunks.
    let (content_type, body) = multipart("big.jpg", &big);
    let r = app
        .send(
            "POST",
            &format!("/v1/requests/{no}/photos"),
            Some(&token),
            &[("content-type", &content_type)],
            Some(body),
        )
        .await;
    assert_eq!(r.status, 413, "{}", text(&r));
    assert!(
        violations(&r.json())["file"].contains("10 MiB"),
        "{}",
        text(&r)
    );
    // A form with a part after the photo is not this operation's: refused naming the part, and
    // the photo already stored goes back.
    let (content_type, mut body) = multipart("ok.jpg", &jpeg(40, 30));
    let boundary = content_type.split("boundary=").nth(1).unwrap().to_owned();
    body.truncate(body.len() - format!("--{boundary}--\r\n").len());
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n--{boundary}--\r\n")
            .as_bytes(),
    );
    let r = app
        .send_upload(&no, &token, (content_type, body), "extra-part-1")
        .await;
    assert_eq!(r.status, 400, "{}", text(&r));
    assert!(
        violations(&r.json())["note"].contains("not a part of this form"),
        "{}",
        text(&r)
    );

    // Nothing of the refused ones is left in the store (not even a part of the big one).
    assert_eq!(stored_files(&root), Vec::<String>::new());

    // Nine are taken, the tenth is not.
    let small = jpeg(40, 30);
    for i in 0..9 {
        let r = app
            .upload_photo(&no, &token, &format!("{i}.jpg"), &small)
            .await;
        assert_eq!(r.status, 201, "photo {i}: {}", text(&r));
    }
    let r = app.upload_photo(&no, &token, "10.jpg", &small).await;
    assert_eq!(r.status, 409, "{}", text(&r));
    assert_eq!(r.header("content-type"), "application/problem+json");
    let p = r.json();
    assert!(
        p["detail"].as_str().unwrap().contains("at most 9 photos"),
        "{p}"
    );
    assert!(violations(&p)["file"].contains("at most 9"), "{p}");

    // None of the refused ones was recorded or kept: nine photos and their nine thumbnails.
    let list = app.get(&format!("/v1/requests/{no}/photos"), &token).await;
    assert_eq!(list.json()["items"].as_array().unwrap().len(), 9);
    assert_eq!(stored_files(&root).len(), 18, "{:?}", stored_files(&root));
    app.stop().await;
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test]
async fn a_retry_with_the_same_idempotency_key_gives_the_first_photo_and_stores_nothing_more() {
    let app = spawn_app().await;
    let no = request_no(&app.create("SH01").await);
    let token = agent("SH01");
    let photo = jpeg(200, 100);
    let key = uuid::Uuid::new_v4().to_string();

    let body = multipart("a.jpg", &photo);

    let first = app.send_upload(&no, &token, body.clone(), &key).await;
    let again = app.send_upload(&no, &token, body, &key).await;

    assert_eq!(first.status, 201, "{}", text(&first));
    assert_eq!(again.status, 201, "{}", text(&again));
    assert_eq!(again.header("idempotent-replayed"), "true");
    assert_eq!(first.json()["photo_id"], again.json()["photo_id"]);
    let list = app.get(&format!("/v1/requests/{no}/photos"), &token).await;
    assert_eq!(list.json()["items"].as_array().unwrap().len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn another_branchs_token_gets_404_on_the_photos_and_stores_nothing() {
    // Arrange: SH01's request with one photo
    let root = temp_root();
    let app = spawn_with_store(&root).await;
    let no = request_no(&app.create("SH01").await);
    let r = app
        .upload_photo(&no, &agent("SH01"), "a.jpg", &jpeg(50, 50))
        .await;
    assert_eq!(r.status, 201, "{}", text(&r));
    let bj = agent("BJ02");

    // Act
    let post = app.upload_photo(&no, &bj, "b.jpg", &jpeg(50, 50)).await;
    let get = app.get(&format!("/v1/requests/{no}/photos"), &bj).await;

    // Assert
    assert_eq!(post.status, 404, "{}", text(&post));
    assert_eq!(post.header("content-type"), "application/problem+json");
    assert_eq!(get.status, 404, "{}", text(&get));
    let list = app
        .get(&format!("/v1/requests/{no}/photos"), &agent("SH01"))
        .await;
    assert_eq!(list.json()["items"].as_array().unwrap().len(), 1);
    // BJ02's upload was refused before a byte was stored: SH01's photo and thumbnail only.
    assert_eq!(stored_files(&root).len(), 2, "{:?}", stored_files(&root));
    app.stop().await;
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test]
async fn a_tampered_or_expired_signed_url_is_refused_with_403() {
    // Arrange: URLs valid for one second
    let app = crate::helpers::spawn_app_with(|_, g| g.gateway.photos.url_ttl_secs = 1).await;
    let no = request_no(&app.create("SH01").await);
    let token = agent("SH01");
    let r = app.upload_photo(&no, &token, "a.jpg", &jpeg(64, 48)).await;
    assert_eq!(r.status, 201, "{}", text(&r));
    let url = r.json()["url"].as_str().unwrap().to_owned();
    let (path, query) = url.split_once('?').unwrap();
    let sig = query.split("sig=").nth(1).unwrap().to_owned();
    let expires: u64 = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("expires="))
        .unwrap()
        .parse()
        .unwrap();

    // A flipped signature digit, a later expiry, another object under the same signature.
    let flipped = {
        let mut s = sig.clone().into_bytes();
        s[0] = if s[0] == b'0' { b'1' } else { b'0' };
        String::from_utf8(s).unwrap()
    };
    let tampered = [
        format!("{path}?expires={expires}&sig={flipped}"),
        format!("{path}?expires={}&sig={sig}", expires + 3600),
        format!(
            "{}?expires={expires}&sig={sig}",
            path.replace(".jpg", ".thumb.jpg")
        ),
        path.to_owned(),
    ];
    for t in &tampered {
        let r = app.send("GET", t, None, &[], None).await;
        assert!(
            r.status == 403 || (r.status == 400 && !t.contains('?')),
            "{t}: {} {}",
            r.status,
            text(&r)
        );
        assert_eq!(r.header("content-type"), "application/problem+json");
    }

    // Expired: the untouched URL once its second has passed.
    let ok = app.send("GET", &url, None, &[], None).await;
    assert!(ok.status == 200 || ok.status == 403, "{}", ok.status);
    while std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        <= expires
    {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let late = app.send("GET", &url, None, &[], None).await;
    assert_eq!(late.status, 403, "{}", text(&late));
    assert!(late.json()["detail"].as_str().unwrap().contains("expired"));
    app.stop().await;
}

#[tokio::test]
async fn twelve_concurrent_uploads_leave_exactly_nine_photos() {
    // Arrange: uploads that all pass the gateway's own early count (taken before their bytes
    // are read) are decided by intake's lock on the request, after their bytes were stored.
    let root = temp_root();
    let app = spawn_with_store(&root).await;
    let no = request_no(&app.create("SH01").await);
    let token = agent("SH01");
    let photo = jpeg(40, 30);

    // Act
    let uploads = (0..12).map(|i| {
        let (app, no, token, photo) = (&app, &no, &token, &photo);
        async move {
            app.upload_photo(no, token, &format!("{i}.jpg"), photo)
                .await
        }
    });
    let answers = futures_util::future::join_all(uploads).await;

    // Assert
    let created = answers.iter().filter(|r| r.status == 201).count();
    let refused = answers.iter().filter(|r| r.status == 409).count();
    assert_eq!(
        (created, refused),
        (9, 3),
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let by_intake = answers
        .iter()
        .filter(|r| {
            r.status == 409
                && r.json()["type"]
                    .as_str()
                    .unwrap()
                    .ends_with("failed-precondition")
        })
        .count();
    println!("refused by intake's lock: {by_intake} of {refused}");
    let list = app.get(&format!("/v1/requests/{no}/photos"), &token).await;
    assert_eq!(list.json()["items"].as_array().unwrap().len(), 9);
    // What intake refused was taken back: nine photos and nine thumbnails, nothing else.
    assert_eq!(stored_files(&root).len(), 18, "{:?}", stored_files(&root));
    app.stop().await;
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test]
async fn a_heic_is_stored_as_sent_without_a_thumbnail() {
    let app = spawn_app().await;
    let no = request_no(&app.create("SH01").await);
    let token = agent("SH01");
    // An ISO-BMFF `ftyp` box with brand heic, then bytes the gateway does not decode.
    let mut heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
    heic.extend((0..5000u32).map(|i| (i % 251) as u8));

    let r = app.upload_photo(&no, &token, "IMG_0001.HEIC", &heic).await;

    assert_eq!(r.status, 201, "{}", text(&r));
    let stored = r.json();
    assert_eq!(stored["content_type"], "image/heic");
    assert!(stored["thumbnail_url"].is_null(), "{stored}");
    assert_eq!(
        (stored["width"].as_u64(), stored["height"].as_u64()),
        (Some(0), Some(0))
    );
    let got = app
        .send("GET", stored["url"].as_str().unwrap(), None, &[], None)
        .await;
    assert_eq!(got.status, 200);
    assert_eq!(got.header("content-type"), "image/heic");
    assert_eq!(got.body.as_ref(), heic.as_slice());
    app.stop().await;
}
