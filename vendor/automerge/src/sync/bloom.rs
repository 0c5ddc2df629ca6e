use std::borrow::Borrow;

use crate::storage::parse;
use crate::ChangeHash;

// The parameters used for a particular Bloom filter are encoded in the wire format, so these can
// change without breaking compatibility: a peer tests hashes against our filter with our
// parameters. Upstream uses 10 bits and 7 probes, a 1% false positive rate. Glosa
// (vendor/README.md §18) uses 20 bits and 10 probes, about 0.01%: each false positive is one of
// a returning phone's offline changes that the phone believes we have and does not send, and we
// only get it one round trip later, by asking. With 1,000 offline notes coming back at once that
// was ten extra round trips through the busiest moment; the price is 1.25 more bytes per change
// in a filter, which covers only the changes since the last sync.
const BITS_PER_ENTRY: u32 = 20;
const NUM_PROBES: u32 = 10;

#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct BloomFilter {
    num_entries: u32,
    num_bits_per_entry: u32,
    num_probes: u32,
    bits: Vec<u8>,
}

impl Default for BloomFilter {
    fn default() -> Self {
        BloomFilter {
            num_entries: 0,
            num_bits_per_entry: BITS_PER_ENTRY,
            num_probes: NUM_PROBES,
            bits: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ParseError {
    #[error(transparent)]
    Leb128(#[from] parse::leb128::Error),
}

impl BloomFilter {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut buf = Vec::new();
        if self.num_entries != 0 {
            leb128::write::unsigned(&mut buf, self.num_entries as u64).unwrap();
            leb128::write::unsigned(&mut buf, self.num_bits_per_entry as u64).unwrap();
            leb128::write::unsigned(&mut buf, self.num_probes as u64).unwrap();
            buf.extend(&self.bits);
        }
        buf
    }

    /// At least the length of [`Self::to_bytes`], without building it.
    pub(crate) fn encoded_len_bound(&self) -> usize {
        3 * 5 + self.bits.len()
    }

    pub(crate) fn parse(input: parse::Input<'_>) -> parse::ParseResult<'_, Self, ParseError> {
        if input.is_empty() {
            Ok((input, Self::default()))
        } else {
            let (i, num_entries) = parse::leb128_u32(input)?;
            let (i, num_bits_per_entry) = parse::leb128_u32(i)?;
            let (i, num_probes) = parse::leb128_u32(i)?;
            let (i, bits) = parse::take_n(bits_capacity(num_entries, num_bits_per_entry), i)?;
            Ok((
                i,
                Self {
                    num_entries,
                    num_bits_per_entry,
                    num_probes,
                    bits: bits.to_vec(),
                },
            ))
        }
    }

    fn get_probes(&self, hash: &ChangeHash) -> Vec<u32> {
        let hash_bytes = hash.0;
        let modulo = 8 * self.bits.len() as u32;

        let mut x =
            u32::from_le_bytes([hash_bytes[0], hash_bytes[1], hash_bytes[2], hash_bytes[3]])
                % modulo;
        let mut y =
            u32::from_le_bytes([hash_bytes[4], hash_bytes[5], hash_bytes[6], hash_bytes[7]])
                % modulo;
        let z = u32::from_le_bytes([hash_bytes[8], hash_bytes[9], hash_bytes[10], hash_bytes[11]])
            % modulo;

        let mut probes = Vec::with_capacity(self.num_probes as usize);
        probes.push(x);
        for _ in 1..self.num_probes {
            x = (x + y) % modulo;
            y = (y + z) % modulo;
            probes.push(x);
        }
        probes
    }

    fn add_hash(&mut self, hash: &ChangeHash) {
        for probe in self.get_probes(hash) {
            self.set_bit(probe as usize);
        }
    }

    fn set_bit(&mut self, probe: usize) {
        if let Some(byte) = self.bits.get_mut(probe >> 3) {
            *byte |= 1 << (probe & 7);
        }
    }

    fn get_bit(&self, probe: usize) -> Option<u8> {
        self.bits
            .get(probe >> 3)
            .map(|byte| byte & (1 << (probe & 7)))
    }

    pub fn contains_hash(&self, hash: &ChangeHash) -> bool {
        if self.num_entries == 0 {
            false
        } else {
            for probe in self.get_probes(hash) {
                if let Some(bit) = self.get_bit(probe as usize) {
                    if bit == 0 {
                        return false;
                    }
                }
            }
            true
        }
    }

    pub fn from_hashes<H: Borrow<ChangeHash>>(hashes: impl ExactSizeIterator<Item = H>) -> Self {
        let num_entries = hashes.len() as u32;
        let num_bits_per_entry = BITS_PER_ENTRY;
        let num_probes = NUM_PROBES;
        let bits = vec![0; bits_capacity(num_entries, num_bits_per_entry)];
        let mut filter = Self {
            num_entries,
            num_bits_per_entry,
            num_probes,
            bits,
        };
        for hash in hashes {
            filter.add_hash(hash.borrow());
        }
        filter
    }
}

fn bits_capacity(num_entries: u32, num_bits_per_entry: u32) -> usize {
    let f = ((f64::from(num_entries) * f64::from(num_bits_per_entry)) / 8_f64).ceil();
    f as usize
}

#[derive(thiserror::Error, Debug)]
#[error("{0}")]
pub struct DecodeError(String);

impl TryFrom<&[u8]> for BloomFilter {
    type Error = DecodeError;

    fn try_from(bytes: &[u8]) -> Result<Self, Self::Error> {
        Self::parse(parse::Input::new(bytes))
            .map(|(_, b)| b)
            .map_err(|e| DecodeError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(seed: u64) -> ChangeHash {
        // Change hashes are SHA-256 digests: any spread of bytes will do.
        let mut bytes = [0u8; 32];
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
        for chunk in bytes.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes());
        }
        ChangeHash(bytes)
    }

    /// §18: a phone tests its offline changes against our filter; a false
    /// positive keeps one of them back for a round trip. Upstream's
    /// parameters give about 1 in 100; ours must give under 1 in 2,000.
    #[test]
    fn false_positives_are_rare() {
        let filter = BloomFilter::from_hashes((0..1_000).map(hash).collect::<Vec<_>>().iter());
        assert!((0..1_000).map(hash).all(|h| filter.contains_hash(&h)));
        let trials = 200_000u64;
        let false_positives = (1_000_000..1_000_000 + trials)
            .map(hash)
            .filter(|h| filter.contains_hash(h))
            .count();
        assert!(
            (false_positives as u64) * 2_000 < trials,
            "{false_positives} false positives in {trials}"
        );
    }

    #[test]
    fn a_filter_round_trips_with_its_parameters() {
        let filter = BloomFilter::from_hashes((0..50).map(hash).collect::<Vec<_>>().iter());
        let bytes = filter.to_bytes();
        assert_eq!(bytes.len(), 3 + 50 * BITS_PER_ENTRY as usize / 8);
        let back = BloomFilter::try_from(bytes.as_slice()).expect("parses");
        assert_eq!(back, filter);
        // A filter made with upstream's parameters (a JavaScript phone's)
        // is read with its own.
        let mut theirs = filter.clone();
        theirs.num_bits_per_entry = 10;
        theirs.num_probes = 7;
        theirs.bits = vec![0; bits_capacity(50, 10)];
        for h in (0..50).map(hash) {
            theirs.add_hash(&h);
        }
        let back = BloomFilter::try_from(theirs.to_bytes().as_slice()).expect("parses");
        assert!((0..50).map(hash).all(|h| back.contains_hash(&h)));
    }
}
