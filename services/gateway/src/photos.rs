//! Where the photos of a request's fault are kept: an `object_store` (a local directory for
//! `make up` and tests, an S3-compatible bucket in production), what a photo is (sniffed from
//! its first bytes, never from its name), its thumbnail, and its short-lived URLs: the bucket's
//! presigned GETs, or for the local store `/v1/photo-objects/…?expires=…&sig=…`, which the
//! gateway signs with its own key and serves itself ([`crate::api::photos`]).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use object_store::path::Path as ObjectPath;
use object_store::signer::Signer;
use object_store::{ObjectStore, ObjectStoreExt};
use secrecy::ExposeSecret;
use sha2::Sha256;

use aftersales_platform::config::ConfigError;

use crate::config::{PhotoBackend, PhotoSettings};

/// The largest photo accepted.
pub const MAX_PHOTO_BYTES: usize = 10 * 1024 * 1024;
/// A multipart body carries one photo and its part headers: the body limit of the upload route.
pub const MAX_UPLOAD_BODY: usize = MAX_PHOTO_BYTES + 64 * 1024;
/// The thumbnail's long side, in pixels.
pub const THUMBNAIL_PX: u32 = 320;

/// A photo's kind, judged by its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Jpeg,
    Png,
    Heic,
}

impl Kind {
    /// The kind of the bytes that start with `head` (at least 12 bytes for HEIC); `None` when
    /// they are none of the three.
    pub fn sniff(head: &[u8]) -> Option<Kind> {
        if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
            return Some(Kind::Jpeg);
        }
        if head.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
            return Some(Kind::Png);
        }
        // ISO base media: a box size, then `ftyp` and the major brand.
        if head.len() >= 12
            && &head[4..8] == b"ftyp"
            && matches!(&head[8..12], b"heic" | b"heix" | b"mif1" | b"msf1")
        {
            return Some(Kind::Heic);
        }
        None
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Kind::Jpeg => "image/jpeg",
            Kind::Png => "image/png",
            Kind::Heic => "image/heic",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Kind::Jpeg => "jpg",
            Kind::Png => "png",
            Kind::Heic => "heic",
        }
    }

    /// The content type of an object this gateway named (`<id>.jpg`, `<id>.thumb.jpg`, …).
    pub fn of_key(key: &str) -> Option<Kind> {
        let ext = key.rsplit_once('.')?.1;
        [Kind::Jpeg, Kind::Png, Kind::Heic]
            .into_iter()
            .find(|k| k.extension() == ext)
    }
}

/// A decoded photo's size and its thumbnail (JPEG, at most [`THUMBNAIL_PX`] on the long side).
pub struct Thumbnail {
    pub width: u32,
    pub height: u32,
    pub jpeg: Vec<u8>,
}

/// Decodes a JPEG or PNG and makes its thumbnail. CPU-bound: call it from `spawn_blocking`.
pub fn thumbnail(kind: Kind, bytes: &[u8]) -> anyhow::Result<Thumbnail> {
    let format = match kind {
        Kind::Jpeg => image::ImageFormat::Jpeg,
        Kind::Png => image::ImageFormat::Png,
        Kind::Heic => anyhow::bail!("HEIC photos are stored as sent"),
    };
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    // A small file may claim a huge picture (a decompression bomb): bound what decoding takes.
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(16_384);
    limits.max_image_height = Some(16_384);
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    let img = reader.decode()?;
    let (width, height) = (img.width(), img.height());
    let thumb = img.thumbnail(THUMBNAIL_PX, THUMBNAIL_PX).to_rgb8();
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80).encode_image(&thumb)?;
    Ok(Thumbnail {
        width,
        height,
        jpeg,
    })
}

/// The object keys of a photo: `requests/<request_no>/<photo_id>.<ext>` and its thumbnail's.
pub fn keys(request_no: &str, photo_id: &uuid::Uuid, kind: Kind) -> (String, String) {
    let base = format!("requests/{request_no}/{photo_id}");
    (
        format!("{base}.{}", kind.extension()),
        format!("{base}.thumb.jpg"),
    )
}

/// How URLs are made.
enum Urls {
    /// The gateway signs its own URLs with this key and serves them.
    Local { key: Vec<u8> },
    /// The bucket presigns them.
    S3 { signer: Arc<dyn Signer> },
}

/// The photo store: the objects and their URLs. Cheap to clone.
#[derive(Clone)]
pub struct PhotoStore {
    store: Arc<dyn ObjectStore>,
    urls: Arc<Urls>,
    ttl: Duration,
}

impl std::fmt::Debug for PhotoStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhotoStore")
            .field("store", &self.store.to_string())
            .finish()
    }
}

/// Why a signed local URL is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Expired,
    BadSignature,
}

impl PhotoStore {
    pub fn new(s: &PhotoSettings) -> anyhow::Result<PhotoStore> {
        let ttl = Duration::from_secs(s.url_ttl_secs);
        match s.backend {
            PhotoBackend::Local => {
                let root = if s.local_root.trim().is_empty() {
                    std::env::temp_dir().join(format!("aftersales-photos-{}", uuid::Uuid::new_v4()))
                } else {
                    std::path::PathBuf::from(s.local_root.trim())
                };
                // A directory that cannot be used is bad configuration: exit 64 naming the key.
                let unusable = |e: &dyn std::fmt::Display| {
                    ConfigError::new(
                        "gateway.photos.local_root",
                        format!("{} cannot be used: {e}", root.display()),
                    )
                };
                std::fs::create_dir_all(&root).map_err(|e| unusable(&e))?;
                tracing::info!(root = %root.display(), "photos kept on the local disk");
                let store = object_store::local::LocalFileSystem::new_with_prefix(&root)
                    .map_err(|e| unusable(&e))?
                    .with_automatic_cleanup(true);
                let key = match &s.signing_secret {
                    Some(k) => k.expose_secret().as_bytes().to_vec(),
                    None => {
                        let mut k = Vec::with_capacity(32);
                        k.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
                        k.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
                        k
                    }
                };
                Ok(PhotoStore {
                    store: Arc::new(store),
                    urls: Arc::new(Urls::Local { key }),
                    ttl,
                })
            }
            PhotoBackend::S3 => {
                // reqwest's rustls has no bundled provider here (ring is the process's one, as
                // for every other TLS client in the mesh); installing it twice is harmless.
                let _ = rustls::crypto::ring::default_provider().install_default();
                let mut b = object_store::aws::AmazonS3Builder::new()
                    .with_bucket_name(s.bucket.trim())
                    .with_region(s.region.trim());
                if !s.endpoint.is_empty() {
                    b = b
                        .with_endpoint(s.endpoint.trim())
                        .with_allow_http(s.endpoint.starts_with("http://"))
                        .with_virtual_hosted_style_request(false);
                }
                if let (Some(id), Some(secret)) = (&s.access_key_id, &s.secret_access_key) {
                    b = b
                        .with_access_key_id(id.expose_secret())
                        .with_secret_access_key(secret.expose_secret());
                }
                let s3 = Arc::new(b.build().map_err(|e| {
                    ConfigError::new("gateway.photos", format!("the S3 client: {e}"))
                })?);
                Ok(PhotoStore {
                    store: s3.clone(),
                    urls: Arc::new(Urls::S3 { signer: s3 }),
                    ttl,
                })
            }
        }
    }

    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// Deletes objects, logging (not failing on) what could not be deleted: used to take back
    /// what an upload wrote when the upload fails.
    pub async fn delete_quietly(&self, keys: &[&str]) {
        for k in keys.iter().filter(|k| !k.is_empty()) {
            if let Err(e) = self.store.delete(&ObjectPath::from(*k)).await
                && !matches!(e, object_store::Error::NotFound { .. })
            {
                tracing::warn!(key = %k, error = %e, "a photo object could not be deleted");
            }
        }
    }

    /// A URL that reads `key` for the next `url_ttl_secs`.
    pub async fn url(&self, key: &str) -> anyhow::Result<String> {
        match self.urls.as_ref() {
            Urls::Local { key: secret } => {
                let expires = now_secs() + self.ttl.as_secs();
                let sig = sign(secret, key, expires);
                let path = key.strip_prefix("requests/").unwrap_or(key);
                Ok(format!(
                    "/v1/photo-objects/{path}?expires={expires}&sig={sig}"
                ))
            }
            Urls::S3 { signer } => Ok(signer
                .signed_url(
                    object_store::signer::Method::GET,
                    &ObjectPath::from(key),
                    self.ttl,
                )
                .await?
                .to_string()),
        }
    }

    /// Checks a local URL's expiry and signature for `key`. A store without local URLs refuses
    /// every one.
    pub fn verify(&self, key: &str, expires: u64, sig: &str) -> Result<(), Refused> {
        let Urls::Local { key: secret } = self.urls.as_ref() else {
            return Err(Refused::BadSignature);
        };
        let given = hex::decode(sig).map_err(|_| Refused::BadSignature)?;
        mac(secret, key, expires)
            .verify_slice(&given)
            .map_err(|_| Refused::BadSignature)?;
        if expires <= now_secs() {
            return Err(Refused::Expired);
        }
        Ok(())
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn mac(secret: &[u8], key: &str, expires: u64) -> Hmac<Sha256> {
    // Any length is a valid HMAC key.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(key.as_bytes());
    mac.update(b"\n");
    mac.update(expires.to_string().as_bytes());
    mac
}

/// Hex HMAC-SHA256 of the key and the expiry under the gateway's secret.
pub fn sign(secret: &[u8], key: &str, expires: u64) -> String {
    hex::encode(mac(secret, key, expires).finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_told_by_their_first_bytes() {
        assert_eq!(
            Kind::sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]),
            Some(Kind::Jpeg)
        );
        assert_eq!(
            Kind::sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some(Kind::Png)
        );
        assert_eq!(Kind::sniff(b"\0\0\0\x18ftypheic\0\0\0\0"), Some(Kind::Heic));
        assert_eq!(Kind::sniff(b"\0\0\0\x18ftypmif1\0\0\0\0"), Some(Kind::Heic));
        assert_eq!(Kind::sniff(b"\0\0\0\x18ftypisom\0\0\0\0"), None);
        assert_eq!(Kind::sniff(b"just some text, named photo.jpg"), None);
        assert_eq!(Kind::sniff(b""), None);
    }

    fn settings(backend: PhotoBackend) -> PhotoSettings {
        PhotoSettings {
            backend,
            local_root: String::new(),
            bucket: "fault-photos".into(),
            region: "us-east-1".into(),
            endpoint: "http://127.0.0.1:9000".into(),
            access_key_id: Some("AKIAEXAMPLE".to_owned().into()),
            secret_access_key: Some("secret-key-of-the-example".to_owned().into()),
            url_ttl_secs: 300,
            signing_secret: None,
        }
    }

    #[tokio::test]
    async fn the_s3_store_presigns_a_get_with_ring_and_no_network() {
        // Signing is local: this proves the S3 client builds with ring as the one provider.
        let store = PhotoStore::new(&settings(PhotoBackend::S3)).unwrap();
        let url = store
            .url("requests/AS-2611-SH01-000042/a.jpg")
            .await
            .unwrap();
        assert!(
            url.starts_with(
                "http://127.0.0.1:9000/fault-photos/requests/AS-2611-SH01-000042/a.jpg?"
            ),
            "{url}"
        );
        assert!(url.contains("X-Amz-Expires=300"), "{url}");
        assert!(url.contains("X-Amz-Signature="), "{url}");
        // A bucket's URL is not the gateway's to verify.
        assert_eq!(
            store.verify("requests/AS-2611-SH01-000042/a.jpg", u64::MAX, "00"),
            Err(Refused::BadSignature)
        );
    }

    #[tokio::test]
    async fn a_local_url_verifies_for_its_key_only_and_until_it_expires() {
        let mut s = settings(PhotoBackend::Local);
        s.local_root = std::env::temp_dir()
            .join(format!("photos-unit-{}", uuid::Uuid::new_v4()))
            .display()
            .to_string();
        let store = PhotoStore::new(&s).unwrap();
        let key = "requests/AS-2611-SH01-000042/a.jpg";
        let url = store.url(key).await.unwrap();
        let query = url.split_once('?').unwrap().1;
        let expires: u64 = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("expires="))
            .unwrap()
            .parse()
            .unwrap();
        let sig = query.split("sig=").nth(1).unwrap();
        assert_eq!(store.verify(key, expires, sig), Ok(()));
        assert_eq!(
            store.verify("requests/AS-2611-SH01-000042/b.jpg", expires, sig),
            Err(Refused::BadSignature)
        );
        assert_eq!(
            store.verify(key, expires + 1, sig),
            Err(Refused::BadSignature)
        );
        let past = now_secs() - 1;
        let old = sign(b"wrong key", key, past);
        assert_eq!(store.verify(key, past, &old), Err(Refused::BadSignature));
        let _ = std::fs::remove_dir_all(&s.local_root);
    }

    #[test]
    fn a_png_gets_a_jpeg_thumbnail_of_at_most_320_pixels() {
        let img = image::RgbaImage::from_pixel(800, 400, image::Rgba([10, 200, 30, 128]));
        let mut png = Vec::new();
        image::DynamicImage::ImageRgba8(img)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let t = thumbnail(Kind::Png, &png).unwrap();
        assert_eq!((t.width, t.height), (800, 400));
        assert_eq!(Kind::sniff(&t.jpeg), Some(Kind::Jpeg));
        let small = image::load_from_memory(&t.jpeg).unwrap();
        assert_eq!((small.width(), small.height()), (320, 160));
    }
}
