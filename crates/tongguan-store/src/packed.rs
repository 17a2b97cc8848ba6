//! The large JSON documents the store keeps — declaration bodies and stored replies —
//! written LZ4-compressed.
//!
//! Why: they are most of what every submission writes (≈ 4 KB each, two per declaration), so
//! they were most of the SQLite writer's WAL bytes, and on PostgreSQL each went through
//! TOAST (compressed by the server, stored in a side table with its own index). Compressed
//! by the app they are ≈ a quarter of the size and stay in the row.
//!
//! Format: a stored document is either plain UTF-8 JSON (rows written before this, and what
//! a JSON document always starts with is never a zero byte) or [`MARK`] followed by an LZ4
//! block with its uncompressed length prepended (`lz4_flex::compress_prepend_size`).

use std::borrow::Cow;

/// First byte of a compressed document.
const MARK: u8 = 0;

/// LZ4 cannot expand more than 255-fold; a length prepended beyond that is corruption and
/// would otherwise allocate up to 4 GB before failing.
const MAX_RATIO: usize = 255;

/// `json` compressed for storage: [`MARK`], the length (`u32` little-endian, as
/// `lz4_flex::compress_prepend_size` writes it) and the block, compressed in place rather
/// than compressed and then copied behind the mark (this runs for every submission).
pub(crate) fn pack(json: &str) -> Vec<u8> {
    const HEAD: usize = 5;
    let input = json.as_bytes();
    let Ok(len) = u32::try_from(input.len()) else {
        return input.to_vec(); // plain JSON is a stored document too
    };
    let mut out = vec![0u8; HEAD + lz4_flex::block::get_maximum_output_size(input.len())];
    out[0] = MARK;
    out[1..HEAD].copy_from_slice(&len.to_le_bytes());
    // The buffer has the largest size LZ4 can need; should compression still fail, the
    // document is stored plain rather than half-written.
    match lz4_flex::block::compress_into(input, &mut out[HEAD..]) {
        Ok(written) => {
            out.truncate(HEAD + written);
            out
        }
        Err(_) => input.to_vec(),
    }
}

/// The JSON of a stored document, compressed or not.
pub(crate) fn unpack(stored: &[u8]) -> Result<Cow<'_, [u8]>, String> {
    match stored.split_first() {
        Some((&MARK, block)) => {
            let declared = block
                .get(..4)
                .and_then(|b| <[u8; 4]>::try_from(b).ok())
                .map(|b| u32::from_le_bytes(b) as usize)
                .ok_or("compressed document without its length")?;
            if declared > block.len().saturating_mul(MAX_RATIO) {
                return Err(format!(
                    "compressed document claims {declared} bytes from {}",
                    block.len()
                ));
            }
            lz4_flex::decompress_size_prepended(block)
                .map(Cow::Owned)
                .map_err(|e| e.to_string())
        }
        _ => Ok(Cow::Borrowed(stored)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_come_back_as_written_and_smaller() {
        let json = serde_json::json!({
            "items": (0..5).map(|i| serde_json::json!({"hs_code": "8471300000", "seq": i, "name": "笔记本电脑"})).collect::<Vec<_>>()
        })
        .to_string();
        let packed = pack(&json);
        assert!(
            packed.len() < json.len() / 2,
            "{} of {}",
            packed.len(),
            json.len()
        );
        assert_eq!(unpack(&packed).expect("unpack").as_ref(), json.as_bytes());
        // The block is lz4_flex's own size-prepended format behind the mark.
        assert_eq!(
            &packed[1..],
            lz4_flex::compress_prepend_size(json.as_bytes()).as_slice()
        );
        // Rows written before compression are plain JSON and read as they are.
        assert_eq!(
            unpack(json.as_bytes()).expect("plain").as_ref(),
            json.as_bytes()
        );
    }

    #[test]
    fn corrupt_documents_are_errors_not_panics_or_huge_allocations() {
        assert!(unpack(&[MARK]).is_err());
        assert!(unpack(&[MARK, 0xff, 0xff, 0xff, 0x7f, 1, 2]).is_err());
        let mut packed = pack(&"{\"a\":1}".repeat(50));
        let last = packed.len() - 1;
        packed.truncate(last);
        assert!(unpack(&packed).is_err());
    }
}
