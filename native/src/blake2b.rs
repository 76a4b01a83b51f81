//! BLAKE2b (RFC 7693), unkeyed, for the LRS's content hashes: `hashlib.blake2b(data,
//! digest_size=16).hexdigest()` without a round trip to Python per statement. There is no
//! BLAKE2 crate in the offline registry; this follows the RFC's description (section 3) and is
//! tested against hashlib (tests/lrs/test_native_prepare.py, and the unit tests below against
//! the RFC's "abc" example).

const IV: [u64; 8] = [
    0x6a09_e667_f3bc_c908,
    0xbb67_ae85_84ca_a73b,
    0x3c6e_f372_fe94_f82b,
    0xa54f_f53a_5f1d_36f1,
    0x510e_527f_ade6_82d1,
    0x9b05_688c_2b3e_6c1f,
    0x1f83_d9ab_fb41_bd6b,
    0x5be0_cd19_137e_2179,
];

/// The message schedule of each round (rounds 10 and 11 reuse rows 0 and 1).
const SIGMA: [[usize; 16]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
    [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
    [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
    [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
    [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
    [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
    [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
    [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
    [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
];

const BLOCK: usize = 128;

#[inline(always)]
fn mix(v: &mut [u64; 16], a: usize, b: usize, c: usize, d: usize, x: u64, y: u64) {
    v[a] = v[a].wrapping_add(v[b]).wrapping_add(x);
    v[d] = (v[d] ^ v[a]).rotate_right(32);
    v[c] = v[c].wrapping_add(v[d]);
    v[b] = (v[b] ^ v[c]).rotate_right(24);
    v[a] = v[a].wrapping_add(v[b]).wrapping_add(y);
    v[d] = (v[d] ^ v[a]).rotate_right(16);
    v[c] = v[c].wrapping_add(v[d]);
    v[b] = (v[b] ^ v[c]).rotate_right(63);
}

/// The compression function F of one 128-byte block; `bytes`: the message length so far
/// (counter t), `last`: the final block.
fn compress(h: &mut [u64; 8], block: &[u8; BLOCK], bytes: u128, last: bool) {
    let mut m = [0u64; 16];
    for (word, chunk) in m.iter_mut().zip(block.chunks_exact(8)) {
        *word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
    }
    let mut v = [0u64; 16];
    v[..8].copy_from_slice(h);
    v[8..].copy_from_slice(&IV);
    v[12] ^= bytes as u64;
    v[13] ^= (bytes >> 64) as u64;
    if last {
        v[14] = !v[14];
    }
    for round in 0..12 {
        let s = &SIGMA[round % 10];
        mix(&mut v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
        mix(&mut v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
        mix(&mut v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
        mix(&mut v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
        mix(&mut v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
        mix(&mut v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
        mix(&mut v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
        mix(&mut v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
    }
    for i in 0..8 {
        h[i] ^= v[i] ^ v[i + 8];
    }
}

/// BLAKE2b of `data`, unkeyed, `N` bytes of digest (1..=64).
pub fn digest<const N: usize>(data: &[u8]) -> [u8; N] {
    let mut h = IV;
    h[0] ^= 0x0101_0000 ^ N as u64;
    let mut rest = data;
    let mut done: u128 = 0;
    while rest.len() > BLOCK {
        done += BLOCK as u128;
        compress(
            &mut h,
            rest[..BLOCK].try_into().expect("a block"),
            done,
            false,
        );
        rest = &rest[BLOCK..];
    }
    let mut last = [0u8; BLOCK];
    last[..rest.len()].copy_from_slice(rest);
    compress(&mut h, &last, done + rest.len() as u128, true);
    let mut out = [0u8; N];
    for (index, byte) in out.iter_mut().enumerate() {
        *byte = h[index / 8].to_le_bytes()[index % 8];
    }
    out
}

/// `hashlib.blake2b(data, digest_size=16).hexdigest()` appended to `out` (32 characters).
pub fn hex16(out: &mut Vec<u8>, data: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for byte in digest::<16>(data) {
        out.push(HEX[(byte >> 4) as usize]);
        out.push(HEX[(byte & 15) as usize]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(data: &[u8]) -> String {
        let mut out = Vec::new();
        hex16(&mut out, data);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn rfc_example() {
        // RFC 7693 appendix A: BLAKE2b-512("abc")
        let full = digest::<64>(b"abc");
        assert_eq!(full[..8], [0xBA, 0x80, 0xA5, 0x3F, 0x98, 0x1C, 0x4D, 0x0D]);
        assert_eq!(full[56..], [0xB9, 0x23, 0x86, 0xED, 0xD4, 0x00, 0x99, 0x23]);
    }

    #[test]
    fn known_digests() {
        // hashlib.blake2b(x, digest_size=16).hexdigest()
        assert_eq!(hex(b""), "cae66941d9efbd404e4d88758ea67670");
        assert_eq!(hex(b"abc"), "cf4ab791c62b8d2b2109c90275287816");
    }
}
