//! Reading free text for what it says rather than for word sequences: the matcher behind
//! concept rules and decisions (see `rubrics/FORMAT.md`, "Concept rules").
//!
//! An answer is split into words, sentences and clauses once. Classes of writing this
//! handles, each with where it is handled:
//!
//! - **Markup and line breaks** ([`Doc::new`]): Markdown (`**`, `#`, lists), HTML tags and
//!   entities, LaTeX formatting commands (`\text{}`, `\mathbf`, `$`) are not words; a single
//!   line break does not end a sentence (a bold heading and its definition on the next line
//!   are one sentence), a blank line or a new list item does.
//! - **Word forms** (`same_word`): words are compared by their Snowball (Porter 2) stem, so
//!   "vanishes", "vanishing" and "vanished" meet; long words also tolerate one typo (two for
//!   words of ten letters or more) with the same first letter; `word*` matches any word
//!   starting with `word` ("ellip*" meets "elliptical" and "ellipse").
//! - **Fillers** ([`Phrase`]): a phrase's words must come in order in one sentence, with up
//!   to [`GAP`] other words between neighbours ("one randomly chosen example" meets
//!   `one example`); `a|b` lists alternatives for one word.
//! - **Proximity** (`near`): terms in any order, within one sentence, one clause, or N words.
//! - **Clause-level negation** ([`Doc::negated`]): a match is negated when its clause holds an
//!   odd number of negation words (`not`, `n't`, `no`, `never`, `without`, `cannot`, ...)
//!   besides those the phrase itself spells. Clauses end at `,;:()` and at connectives
//!   (`but`, `because`, `since`, `so`, `which`, `that`, `and`, ...), so "No, he is not
//!   correct: tanh also saturates" asserts "saturates". A rule can ask for the negated claim
//!   ("no linear classifier can separate" states `linear classifier separate` in negation) or
//!   for a mention whatever its polarity ("does not need much memory" mentions memory).
//! - **Symbols** ([`Doc::new`]): `∩`/`\cap` read as the word "intersection" and `∪`/`\cup` as
//!   "union", so `|A∩B|/|A∪B|` meets `intersection union`; formulas are compared through the
//!   expression reader ([`expr_matches`]).

use std::collections::BTreeSet;
use std::ops::Range;
use std::sync::OnceLock;

use rust_stemmers::{Algorithm, Stemmer};

use crate::answer::expr::{find_expressions, parse_expr, Expr};

/// Other words allowed between two neighbouring words of a phrase.
pub const GAP: usize = 3;
/// Longest answer examined (bytes).
const MAX_CHARS: usize = 64 * 1024;
/// Matches of one phrase kept (`near` pairs them up, so this bounds its work).
const MAX_MATCHES: usize = 256;

/// Words that negate their clause.
const NEGATIONS: [&str; 11] = [
    "not", "no", "never", "without", "cannot", "nothing", "none", "neither", "nor", "nobody",
    "nowhere",
];
/// Words that start a new clause.
const CLAUSE_WORDS: [&str; 21] = [
    "but",
    "although",
    "though",
    "while",
    "whereas",
    "however",
    "because",
    "since",
    "so",
    "therefore",
    "thus",
    "hence",
    "which",
    "that",
    "and",
    "yet",
    "instead",
    "unless",
    "if",
    "when",
    "whether",
];
/// Words after which a period does not end a sentence.
const ABBREVIATIONS: [&str; 10] = [
    "e", "i", "g", "vs", "etc", "eq", "fig", "approx", "resp", "cf",
];
/// LaTeX commands that are formatting, not words.
const LATEX_NOISE: [&str; 30] = [
    "text",
    "textbf",
    "textit",
    "mathrm",
    "mathbf",
    "mathit",
    "mathcal",
    "mathbb",
    "emph",
    "frac",
    "dfrac",
    "left",
    "right",
    "cdot",
    "cdots",
    "ldots",
    "dots",
    "quad",
    "qquad",
    "big",
    "bigg",
    "operatorname",
    "boldsymbol",
    "displaystyle",
    "begin",
    "end",
    "times",
    "hat",
    "bar",
    "tilde",
];

/// The English Snowball stemmer, built once.
fn stemmer() -> &'static Stemmer {
    static STEMMER: OnceLock<Stemmer> = OnceLock::new();
    STEMMER.get_or_init(|| Stemmer::create(Algorithm::English))
}

/// Most distinct words remembered per thread by the [`Lexicon`]; past it the memory starts
/// over (before a document: one document adds at most 32 Ki words).
const LEXICON_WORDS: usize = 50_000;
/// Most bytes of words and stems remembered per thread (a hostile answer's words can be
/// long); past it the memory starts over.
const LEXICON_BYTES: usize = 4 << 20;

/// "No word" in the slots of [`IdTable`].
const NONE: u32 = u32::MAX;

/// FNV-1a of a word: short keys, hashed for every token, where the default hasher's fixed
/// cost dominated splitting an answer (`cargo xtask bench instructions`). Keys are an
/// answer's own words, so flooding the table costs that answer only.
fn word_hash(word: &str) -> u64 {
    word.as_bytes()
        .iter()
        .fold(HASH_START, |h, &b| hash_step(h, b))
}

/// [`word_hash`] of the empty word.
const HASH_START: u64 = 0xcbf2_9ce4_8422_2325;

/// [`word_hash`] of a word followed by `b`, from the hash `h` of the word (so that splitting
/// hashes a word as it reads it).
fn hash_step(h: u64, b: u8) -> u64 {
    (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
}

/// A hash table of ids (of words kept elsewhere), open addressing with linear probing: the
/// caller keeps the strings (in one block of text) and says which id is which string, so
/// that a word costs no allocation of its own.
#[derive(Debug, Clone, Default)]
struct IdTable {
    /// (the hash folded to 32 bits, id); `NONE` marks a free slot. The length is 0 or a
    /// power of two.
    slots: Vec<(u32, u32)>,
    len: usize,
}

impl IdTable {
    /// The slot a hash starts probing at.
    fn home(hash: u32, mask: usize) -> usize {
        (hash ^ (hash >> 15)) as usize & mask
    }

    /// The hash as kept in a slot.
    fn short(hash: u64) -> u32 {
        (hash ^ (hash >> 32)) as u32
    }

    /// The id with this hash for which `is` says yes.
    fn find(&self, hash: u64, mut is: impl FnMut(u32) -> bool) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let h = Self::short(hash);
        let mask = self.slots.len() - 1;
        let mut i = Self::home(h, mask);
        loop {
            let (sh, id) = self.slots[i];
            if id == NONE {
                return None;
            }
            if sh == h && is(id) {
                return Some(id);
            }
            i = (i + 1) & mask;
        }
    }

    /// Adds an id (not in the table yet) under its hash.
    fn insert(&mut self, hash: u64, id: u32) {
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            let size = (self.slots.len() * 2).max(1024);
            let old = std::mem::replace(&mut self.slots, vec![(0, NONE); size]);
            for (sh, old_id) in old {
                if old_id != NONE {
                    self.place(sh, old_id);
                }
            }
        }
        self.place(Self::short(hash), id);
        self.len += 1;
    }

    /// Puts an id in the first free slot from its hash's home.
    fn place(&mut self, h: u32, id: u32) {
        let mask = self.slots.len() - 1;
        let mut i = Self::home(h, mask);
        while self.slots[i].1 != NONE {
            i = (i + 1) & mask;
        }
        self.slots[i] = (h, id);
    }
}

/// What reading needs of a distinct word besides its spelling and stem, worked out once.
#[derive(Debug, Clone, Copy)]
struct WordFacts {
    /// Characters in the word.
    chars: u32,
    /// Whether the word has an ASCII digit (never matched up to a typo).
    digit: bool,
    /// A negation word.
    negation: bool,
    /// A word that starts a clause ([`CLAUSE_WORDS`]).
    clause_word: bool,
    /// A word after which a period does not end a sentence ([`ABBREVIATIONS`]).
    abbreviation: bool,
    /// Its [`letter_set`].
    letters: u32,
    /// The [`bucket_key`] of the word and the [`stem_key`] of its stem.
    first_key: u8,
    stem_key: u8,
    /// The word's [`head`].
    head: u64,
}

impl WordFacts {
    /// The facts of a lower-case word.
    fn of(word: &str) -> WordFacts {
        WordFacts {
            chars: word.chars().count() as u32,
            digit: word.bytes().any(|b| b.is_ascii_digit()),
            negation: is_negation(word),
            clause_word: listed(word, &CLAUSE_WORDS, &CLAUSE_SHAPES),
            abbreviation: listed(word, &ABBREVIATIONS, &ABBREVIATION_SHAPES),
            letters: letter_set(word),
            first_key: bucket_key(word) as u8,
            stem_key: 0,
            head: head(word),
        }
    }
}

/// One word of a [`Lexicon`].
#[derive(Debug, Clone, Copy)]
struct LexEntry {
    /// Where the word starts, where its stem starts (the word's end) and where the stem
    /// ends in the lexicon's text.
    start: u32,
    mid: u32,
    end: u32,
    facts: WordFacts,
    /// The document being split when the word was last met, and which word of that
    /// document's [`Vocab`] it is.
    stamp: u32,
    local: u32,
}

/// The words met on one thread, each with its stem and facts: a class writes the same few
/// thousand words again and again, and stemming each occurrence was most of the cost of
/// reading an answer (`cargo xtask bench instructions`). Splitting a document looks each
/// token up here once (one hash, one comparison); the document's own word ids come from the
/// `stamp`/`local` of the entries, so a document needs no table of its own.
#[derive(Debug, Default)]
struct Lexicon {
    /// Each word followed by its stem.
    text: String,
    entries: Vec<LexEntry>,
    /// The entries by the word's [`word_hash`].
    table: IdTable,
    /// The number of the document being split (entries of other numbers are not in it).
    stamp: u32,
}

impl Lexicon {
    /// Starts a document: the memory starts over when full.
    fn begin(&mut self) {
        if self.entries.len() >= LEXICON_WORDS
            || self.text.len() >= LEXICON_BYTES
            || self.stamp == u32::MAX
        {
            *self = Lexicon::default();
        }
        self.stamp += 1;
    }

    /// The entry of a lower-case `word` (whose [`word_hash`] is `hash`), added when new.
    #[inline]
    fn id(&mut self, word: &str, hash: u64) -> u32 {
        let found = self.table.find(hash, |id| {
            let e = &self.entries[id as usize];
            self.text.as_bytes().get(e.start as usize..e.mid as usize) == Some(word.as_bytes())
        });
        match found {
            Some(id) => id,
            None => self.add(word, hash),
        }
    }

    /// Adds a word [`Lexicon::id`] did not find (rare once a class's words are known: kept
    /// out of the lookup's code).
    #[cold]
    #[inline(never)]
    fn add(&mut self, word: &str, hash: u64) -> u32 {
        let start = self.text.len();
        self.text.push_str(word);
        let mid = self.text.len();
        self.text.push_str(&stemmer().stem(word));
        let end = self.text.len();
        let id = self.entries.len() as u32;
        let facts = WordFacts {
            stem_key: stem_key(&self.text[mid..end]),
            ..WordFacts::of(word)
        };
        self.entries.push(LexEntry {
            start: start as u32,
            mid: mid as u32,
            end: end as u32,
            facts,
            stamp: 0,
            local: 0,
        });
        self.table.insert(hash, id);
        id
    }
}

thread_local! {
    /// This thread's [`Lexicon`].
    static LEXICON: std::cell::RefCell<Lexicon> = std::cell::RefCell::new(Lexicon::default());
}

/// The stem of a lower-case word.
pub fn stem(word: &str) -> String {
    LEXICON.with(|lexicon| {
        let mut lexicon = lexicon.borrow_mut();
        if lexicon.entries.len() >= LEXICON_WORDS || lexicon.text.len() >= LEXICON_BYTES {
            *lexicon = Lexicon::default();
        }
        let id = lexicon.id(word, word_hash(word));
        let e = lexicon.entries[id as usize];
        lexicon.text[e.mid as usize..e.end as usize].to_string()
    })
}

/// One word of an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// Byte range in the answer.
    pub start: usize,
    pub end: usize,
    /// The word in the document's vocabulary: lower case, thousands separators removed from
    /// numbers (see [`Doc::word`] and [`Doc::stem_of`]).
    pub word_id: u32,
    pub sentence: usize,
    pub clause: usize,
    /// A negation word (`not`, `doesn't`, `cannot`, ...).
    pub negation: bool,
}

/// An answer split into words, sentences and clauses.
#[derive(Debug, Clone)]
pub struct Doc<'a> {
    pub text: &'a str,
    pub tokens: Vec<Token>,
    /// Byte range of each sentence in `text`.
    pub sentences: Vec<Range<usize>>,
    /// The distinct words of `tokens`, for looking a phrase's words up instead of comparing
    /// them with every token.
    vocab: Vocab,
    /// The formulas of each sentence, each sentence read once when a formula term first
    /// asks about it (see [`formula_hits`]).
    formulas: std::cell::OnceCell<Vec<std::cell::OnceCell<Vec<Expr>>>>,
    /// Room for [`Phrase::matches`]'s lists of positions, kept from one phrase to the next
    /// (a question's phrases are matched one after the other against one answer).
    scratch: std::cell::RefCell<Vec<usize>>,
}

/// One distinct word of a [`Doc`], with what matching needs of it.
#[derive(Debug, Clone)]
struct VocabWord {
    /// Where the word starts, where its stem starts (the word's end) and ends in the
    /// vocabulary's text.
    start: u32,
    mid: u32,
    end: u32,
    facts: WordFacts,
    /// Its tokens: `count` of them, from `first` in [`Vocab::positions`].
    count: u32,
    first: u32,
}

/// The first 8 bytes of a word as a number (little-endian, zeros past the word's end): a
/// prefix of at most 8 bytes is compared with a word by one masked comparison (see
/// [`Prefix::starts`]).
fn head(word: &str) -> u64 {
    let mut bytes = [0u8; 8];
    let n = word.len().min(8);
    bytes[..n].copy_from_slice(&word.as_bytes()[..n]);
    u64::from_le_bytes(bytes)
}

/// Buckets of [`bucket_key`].
const BUCKETS: usize = 38;
/// Buckets of [`stem_key`].
const STEM_BUCKETS: usize = 64;

/// The bucket of a stem by its hash: a stem is looked up by its spelling only, so a bucket
/// holds one or two of an answer's words.
fn stem_key(stem: &str) -> u8 {
    let h = word_hash(stem);
    ((h ^ (h >> 32)) as usize % STEM_BUCKETS) as u8
}

/// The bucket of a word or stem by its first byte: one per lower-case ASCII letter and
/// digit, one for every other first byte, one for an empty string. (Lookups compare the
/// words of a bucket, so a bucket may hold words of several first bytes.)
fn bucket_key(s: &str) -> usize {
    match s.as_bytes().first() {
        None => 0,
        Some(&b @ b'a'..=b'z') => usize::from(b - b'a') + 1,
        Some(&b @ b'0'..=b'9') => usize::from(b - b'0') + 27,
        Some(_) => 37,
    }
}

/// Ids `0..n` grouped by `key` (below `N`): the ids, and where each key's group starts
/// (`starts[k]..starts[k + 1]`).
fn group_by_key<const N: usize>(n: usize, key: impl Fn(u32) -> usize) -> (Vec<u32>, Vec<u32>) {
    let mut starts = vec![0u32; N + 1];
    for id in 0..n as u32 {
        starts[key(id) + 1] += 1;
    }
    for k in 0..N {
        starts[k + 1] += starts[k];
    }
    let mut fill = [0u32; N];
    fill.copy_from_slice(&starts[..N]);
    let mut ids = vec![0u32; n];
    for id in 0..n as u32 {
        let k = key(id);
        ids[fill[k] as usize] = id;
        fill[k] += 1;
    }
    (ids, starts)
}

/// The distinct words of a document, so that a phrase's word finds the tokens it matches by
/// lookup among the words of one first byte (its stem, its spelling, a prefix, the same
/// first letter for typos) rather than by a comparison with every token: the matcher's cost
/// no longer grows with the answer's length times the rubric's number of words.
#[derive(Debug, Clone, Default)]
struct Vocab {
    /// Each distinct word followed by its stem.
    text: String,
    /// In the order first met.
    words: Vec<VocabWord>,
    /// The tokens of each word, in order, word after word.
    positions: Vec<u32>,
    /// The words grouped by [`bucket_key`] of the word, and where each group starts.
    by_first: Vec<u32>,
    first_starts: Vec<u32>,
    /// The words grouped by [`stem_key`] of the stem, and where each group starts.
    by_stem: Vec<u32>,
    stem_starts: Vec<u32>,
    /// The tokens that are negation words, in order.
    negations: Vec<usize>,
}

impl Vocab {
    /// The spelling of word `id`.
    fn word(&self, id: u32) -> &str {
        let w = &self.words[id as usize];
        &self.text[w.start as usize..w.mid as usize]
    }

    /// The stem of word `id`.
    fn stem(&self, id: u32) -> &str {
        let w = &self.words[id as usize];
        &self.text[w.mid as usize..w.end as usize]
    }

    /// The id of `word` (whose [`word_hash`] is `hash`) in this document, added (from the
    /// lexicon) when new; counts one more token of it.
    #[inline(always)]
    fn add(&mut self, lexicon: &mut Lexicon, word: &str, hash: u64) -> u32 {
        let entry = lexicon.id(word, hash) as usize;
        let stamp = lexicon.stamp;
        let e = &mut lexicon.entries[entry];
        if e.stamp == stamp {
            self.words[e.local as usize].count += 1;
            return e.local;
        }
        let id = self.words.len() as u32;
        e.stamp = stamp;
        e.local = id;
        let e = *e;
        let start = self.text.len() as u32;
        self.text
            .push_str(&lexicon.text[e.start as usize..e.end as usize]);
        self.words.push(VocabWord {
            start,
            mid: start + (e.mid - e.start),
            end: start + (e.end - e.start),
            facts: e.facts,
            count: 1,
            first: 0,
        });
        id
    }

    /// Indexes the tokens of each word, the negations and the buckets, once every token is
    /// known.
    fn finish(&mut self, tokens: &[Token]) {
        let mut next = 0u32;
        for w in &mut self.words {
            w.first = next;
            next += w.count;
        }
        self.positions = vec![0; next as usize];
        // (`count` counts the tokens placed, back up to the word's count.)
        for w in &mut self.words {
            w.count = 0;
        }
        for (k, t) in tokens.iter().enumerate() {
            let w = &mut self.words[t.word_id as usize];
            self.positions[(w.first + w.count) as usize] = k as u32;
            w.count += 1;
        }
        (self.by_first, self.first_starts) = group_by_key::<BUCKETS>(self.words.len(), |id| {
            usize::from(self.words[id as usize].facts.first_key)
        });
        (self.by_stem, self.stem_starts) = group_by_key::<STEM_BUCKETS>(self.words.len(), |id| {
            usize::from(self.words[id as usize].facts.stem_key)
        });
        self.negations = (0..tokens.len()).filter(|&k| tokens[k].negation).collect();
    }

    /// The tokens of word `id`, in order.
    fn tokens_of(&self, id: u32) -> &[u32] {
        let w = &self.words[id as usize];
        &self.positions[w.first as usize..(w.first + w.count) as usize]
    }

    /// The group of `key` in `ids` grouped as `starts` says (see [`group_by_key`]).
    fn group<'v>(ids: &'v [u32], starts: &[u32], key: usize) -> &'v [u32] {
        match (starts.get(key), starts.get(key + 1)) {
            (Some(&lo), Some(&hi)) => ids.get(lo as usize..hi as usize).unwrap_or_default(),
            _ => &[],
        }
    }

    /// The words that may start with `prefix`: those of its first byte, every word for an
    /// empty prefix.
    fn bucket(&self, prefix: &str) -> &[u32] {
        if prefix.is_empty() {
            return &self.by_first;
        }
        Self::group(&self.by_first, &self.first_starts, bucket_key(prefix))
    }

    /// The tokens a phrase's word matches, sorted (see [`same_word`] for when a word meets a
    /// token).
    #[cfg(test)]
    fn positions(&self, slot: &Slot) -> Vec<usize> {
        let mut out = Vec::new();
        self.positions_onto(slot, &mut out);
        out
    }

    /// Appends [`Vocab::positions`] to `out` (the caller keeps the positions of a phrase's
    /// words one after the other in one vector).
    fn positions_onto(&self, slot: &Slot, out: &mut Vec<usize>) {
        let from = out.len();
        let take = |out: &mut Vec<usize>, id: u32| {
            out.extend(self.tokens_of(id).iter().map(|&k| k as usize));
        };
        for a in &slot.alternatives {
            match a {
                SlotWord::Negation => out.extend_from_slice(&self.negations),
                SlotWord::Prefix(p) => {
                    for &w in self.bucket(&p.text) {
                        let v = &self.words[w as usize];
                        if p.starts(v.facts.head, (v.mid - v.start) as usize, || self.word(w)) {
                            take(out, w);
                        }
                    }
                }
                SlotWord::Word {
                    word,
                    stem,
                    chars,
                    letters,
                    first_key,
                    stem_key,
                } => {
                    // The same stem (every token with it) or the same spelling.
                    for &w in Self::group(&self.by_stem, &self.stem_starts, usize::from(*stem_key))
                    {
                        // (The length first: most stems of a bucket differ in it.)
                        let v = &self.words[w as usize];
                        if (v.end - v.mid) as usize == stem.len() && self.stem(w) == stem {
                            take(out, w);
                        }
                    }
                    // Up to a typo: words of the same first letter only (one pass over the
                    // words of the first byte finds the spelling and the typos).
                    let allowed = match chars {
                        // (The same spelling has the same stem: taken above.)
                        0..=6 => continue,
                        7..=9 => 1,
                        _ => 2,
                    };
                    let mut buf = [0u8; 4];
                    let first = word
                        .chars()
                        .next()
                        .map_or("", |c| &*c.encode_utf8(&mut buf));
                    for &id in
                        Self::group(&self.by_first, &self.first_starts, usize::from(*first_key))
                    {
                        // (The length first: most words of a bucket are told apart by it;
                        // the spelling itself has the same length.)
                        let facts = &self.words[id as usize].facts;
                        if (facts.chars as usize).abs_diff(*chars) > allowed {
                            continue;
                        }
                        let spelled = self.word(id);
                        if spelled == word {
                            // (The same stem: taken above.)
                            continue;
                        }
                        // Letters one word has and the other lacks need an edit each.
                        let lacking = || {
                            (letters & !facts.letters)
                                .count_ones()
                                .max((facts.letters & !letters).count_ones())
                                as usize
                        };
                        if !facts.digit
                            && lacking() <= allowed
                            && spelled.starts_with(first)
                            && letters_apart(word, spelled) <= allowed
                            && strsim::damerau_levenshtein(word, spelled) <= allowed
                        {
                            take(out, id);
                        }
                    }
                }
            }
        }
        // (The tokens of one word are in order: most slots take one word.)
        let tail = &mut out[from..];
        if !tail.is_sorted_by(|a, b| a < b) {
            tail.sort_unstable();
            let mut kept = from;
            for k in from..out.len() {
                if kept == from || out[k] != out[kept - 1] {
                    out[kept] = out[k];
                    kept += 1;
                }
            }
            out.truncate(kept);
        }
    }
}

/// Contractions typed without their apostrophe (or with it misplaced: "would'nt").
const BARE_CONTRACTIONS: [&str; 16] = [
    "dont", "doesnt", "didnt", "isnt", "arent", "wasnt", "werent", "wont", "wouldnt", "cant",
    "couldnt", "shouldnt", "hasnt", "havent", "hadnt", "aint",
];

/// Whether a (lower-case) word negates its clause.
fn is_negation(word: &str) -> bool {
    listed(word, &NEGATIONS, &NEGATION_SHAPES)
        || word.ends_with("n't")
        || word.ends_with("'nt")
        || listed(word, &BARE_CONTRACTIONS, &BARE_CONTRACTION_SHAPES)
}

/// The shapes of a list of lower-case ASCII words: bit `c - 'a'` of entry `n` is set when a
/// word of the list has `n` bytes and starts with `c`.
const fn shapes(words: &[&str]) -> [u32; 16] {
    let mut out = [0u32; 16];
    let mut k = 0;
    while k < words.len() {
        let w = words[k].as_bytes();
        // (Every list word is 1 to 15 lower-case ASCII letters: checked by a test.)
        out[w.len() % 16] |= 1 << ((w[0] - b'a') % 32);
        k += 1;
    }
    out
}

const NEGATION_SHAPES: [u32; 16] = shapes(&NEGATIONS);
const BARE_CONTRACTION_SHAPES: [u32; 16] = shapes(&BARE_CONTRACTIONS);
const CLAUSE_SHAPES: [u32; 16] = shapes(&CLAUSE_WORDS);
const ABBREVIATION_SHAPES: [u32; 16] = shapes(&ABBREVIATIONS);

/// Whether `word` is in `list`, whose [`shapes`] are `shapes`: the shape (length, first
/// letter) rules out most words of an answer without a comparison with each list word,
/// which every new word of every answer paid.
fn listed(word: &str, list: &[&str], shapes: &[u32; 16]) -> bool {
    let b = word.as_bytes();
    let shaped = match b.first() {
        Some(&c) if c.is_ascii_lowercase() && b.len() < 16 => {
            shapes[b.len()] >> (c - b'a') & 1 == 1
        }
        _ => false,
    };
    shaped && list.contains(&word)
}

/// [`BYTE_CLASSES`]: a lower-case ASCII letter or an ASCII digit (most of every word).
const LOWER_OR_DIGIT: u8 = 1;
/// [`BYTE_CLASSES`]: an ASCII byte that cannot continue a word (not a letter or digit, nor
/// one of the marks a word may hold: `'` `^` `_` `.` `,`).
const ENDS_WORD: u8 = 2;

/// [`BYTE_CLASSES`]: an ASCII byte that is no part of a word and no mark [`Doc::split`]
/// reads (`*`, `#`, `$`, `=`, quotes, ...): passed over.
const PASSED_OVER: u8 = 4;

/// The classes of each byte, looked up once per byte of a word instead of several range
/// tests (splitting reads every byte of every answer).
static BYTE_CLASSES: [u8; 256] = {
    let mut classes = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        if byte.is_ascii_lowercase() || byte.is_ascii_digit() {
            classes[b] |= LOWER_OR_DIGIT;
        }
        if byte.is_ascii()
            && !byte.is_ascii_alphanumeric()
            && !matches!(byte, b'\'' | b'^' | b'_' | b'.' | b',')
        {
            classes[b] |= ENDS_WORD;
        }
        if byte.is_ascii()
            && !byte.is_ascii_alphanumeric()
            && !matches!(
                byte,
                b'<' | b'&'
                    | b'\\'
                    | b'.'
                    | b'!'
                    | b'?'
                    | b'\n'
                    | b','
                    | b';'
                    | b':'
                    | b'('
                    | b')'
                    | b'['
                    | b']'
                    | b'-'
            )
        {
            classes[b] |= PASSED_OVER;
        }
        b += 1;
    }
    classes
};

/// Whether byte `b` is of class `class` ([`BYTE_CLASSES`]).
fn is(b: u8, class: u8) -> bool {
    BYTE_CLASSES[usize::from(b)] & class != 0
}

/// The tokens of a document being split, each finished as it is added.
struct Sink {
    tokens: Vec<Token>,
    vocab: Vocab,
    /// Words that start a clause ([`CLAUSE_WORDS`]) met so far.
    clause_words: usize,
}

impl Sink {
    /// Adds the token of the bytes `span`, the (lower-case) word `word` whose [`word_hash`]
    /// is `hash`, in `sentence` and in clause `clause` as punctuation counts them.
    ///
    /// Connectives start a clause (the clause counts the connectives up to this token).
    #[inline(always)]
    fn push(
        &mut self,
        lexicon: &mut Lexicon,
        span: Range<usize>,
        word: &str,
        hash: u64,
        sentence: usize,
        clause: usize,
    ) {
        let id = self.vocab.add(lexicon, word, hash);
        let facts = &self.vocab.words[id as usize].facts;
        let negation = facts.negation;
        if facts.clause_word {
            self.clause_words += 1;
        }
        self.tokens.push(Token {
            start: span.start,
            end: span.end,
            word_id: id,
            sentence,
            clause: clause + self.clause_words,
            negation,
        });
    }
}

impl<'a> Doc<'a> {
    /// Splits `text` (at most 64 KiB of it are read).
    pub fn new(text: &'a str) -> Doc<'a> {
        LEXICON.with(|lexicon| Doc::split(text, &mut lexicon.borrow_mut()))
    }

    /// [`Doc::new`], looking the words up in this thread's lexicon.
    fn split(text: &'a str, lexicon: &mut Lexicon) -> Doc<'a> {
        let text = cut(text);
        lexicon.begin();
        let bytes = text.as_bytes();
        let mut sink = Sink {
            // About one token per six bytes of prose: most answers need no regrowth.
            tokens: Vec::with_capacity(text.len() / 6 + 4),
            // Each distinct word once (its stem computed once), shared by its tokens; room
            // for most answers' words and stems without regrowth.
            vocab: Vocab {
                text: String::with_capacity(text.len() + 64),
                words: Vec::with_capacity(text.len() / 10 + 4),
                ..Vocab::default()
            },
            clause_words: 0,
        };
        let mut sentences = Vec::new();
        let mut sentence = 0;
        let mut clause = 0;
        let mut sentence_start = 0;
        let mut sentence_has_words = false;
        let mut i = 0;
        let mut word = String::new();
        // Ends the current sentence at byte `at`.
        let end_sentence = |at: usize,
                            sentence: &mut usize,
                            clause: &mut usize,
                            start: &mut usize,
                            has_words: &mut bool,
                            sentences: &mut Vec<Range<usize>>| {
            if *has_words {
                sentences.push(*start..at);
                *sentence += 1;
                *clause += 1;
                *has_words = false;
            }
            *start = at;
        };
        while i < text.len() {
            // A space only separates words (the most common character outside words).
            let b = bytes[i];
            if b == b' ' {
                i += 1;
                continue;
            }
            // Most words are lower-case ASCII letters and digits ended by a space or a mark
            // that cannot continue a word: such a word is its own text (not copied), hashed
            // as it is read. (None of the marks handled below is one of these bytes.)
            if is(b, LOWER_OR_DIGIT) {
                let mut hash = hash_step(HASH_START, b);
                let mut j = i + 1;
                while j < bytes.len() && is(bytes[j], LOWER_OR_DIGIT) {
                    hash = hash_step(hash, bytes[j]);
                    j += 1;
                }
                if bytes.get(j).is_none_or(|&b| is(b, ENDS_WORD)) {
                    sink.push(lexicon, i..j, &text[i..j], hash, sentence, clause);
                    sentence_has_words = true;
                    i = j;
                    continue;
                }
            }
            if is(b, PASSED_OVER) {
                i += 1;
                continue;
            }
            // (ASCII without decoding.)
            let c = if b.is_ascii() {
                char::from(b)
            } else {
                let Some(c) = text[i..].chars().next() else {
                    break;
                };
                c
            };
            let len = c.len_utf8();
            // HTML tags and entities are markup.
            if c == '<' {
                let rest = &text[i + 1..];
                if rest.starts_with(|ch: char| ch.is_ascii_alphabetic() || ch == '/' || ch == '!') {
                    // Only the next 300 bytes are looked at: a `<` that opens no tag (`a < b`)
                    // costs no scan of the rest of the answer.
                    if let Some(close) = rest.as_bytes().iter().take(300).position(|&b| b == b'>') {
                        i += close + 2;
                        continue;
                    }
                }
            }
            if c == '&' {
                let rest = &text[i + 1..];
                let n = rest
                    .bytes()
                    .take(10)
                    .take_while(|b| b.is_ascii_alphanumeric() || *b == b'#')
                    .count();
                if n > 0 && rest.as_bytes().get(n) == Some(&b';') {
                    i += n + 2;
                    continue;
                }
            }
            if c == '\\' {
                let rest = &text[i + 1..];
                let n = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
                if n == 0 {
                    i += 1 + rest.chars().next().map_or(0, char::len_utf8);
                    continue;
                }
                let name = &rest[..n];
                let word = match name {
                    "cap" | "bigcap" => Some("intersection"),
                    "cup" | "bigcup" => Some("union"),
                    _ if LATEX_NOISE.contains(&name) => None,
                    _ => Some(name),
                };
                if let Some(w) = word {
                    sink.push(lexicon, i..i + 1 + n, w, word_hash(w), sentence, clause);
                    sentence_has_words = true;
                }
                i += 1 + n;
                continue;
            }
            if c == '∩' || c == '∪' {
                let w = if c == '∩' { "intersection" } else { "union" };
                sink.push(lexicon, i..i + len, w, word_hash(w), sentence, clause);
                sentence_has_words = true;
                i += len;
                continue;
            }
            if c.is_alphanumeric() {
                // (A word the fast path above did not take: upper case, marks inside, not
                // ASCII.)
                let start = i;
                let mut j = i;
                word.clear();
                while j < text.len() {
                    // ASCII letters and digits, most of every word, without decoding: a run
                    // of them at once.
                    let run = text.as_bytes()[j..]
                        .iter()
                        .take_while(|b| b.is_ascii_alphanumeric())
                        .count();
                    if run > 0 {
                        let from = word.len();
                        word.push_str(&text[j..j + run]);
                        word[from..].make_ascii_lowercase();
                        j += run;
                        continue;
                    }
                    // Any other ASCII mark but these ends the word (most words end here).
                    let b = text.as_bytes()[j];
                    if b.is_ascii() && !matches!(b, b'\'' | b'^' | b'_' | b'.' | b',') {
                        break;
                    }
                    let Some(ch) = text[j..].chars().next() else {
                        break;
                    };
                    let next = text[j + ch.len_utf8()..].chars().next();
                    if ch.is_alphanumeric() {
                        word.extend(ch.to_lowercase());
                    } else if matches!(ch, '\'' | '’') && next.is_some_and(char::is_alphabetic) {
                        word.push('\'');
                    } else if matches!(ch, '^' | '_') && next.is_some_and(char::is_alphanumeric) {
                        // R^2 and p_1 are one word each.
                    } else if matches!(ch, '.' | ',')
                        && word.chars().last().is_some_and(|d| d.is_ascii_digit())
                        && next.is_some_and(|d| d.is_ascii_digit())
                    {
                        // 0.25 is one word; 42,000 is 42000.
                        if ch == '.' {
                            word.push('.');
                        }
                    } else {
                        break;
                    }
                    j += ch.len_utf8();
                }
                // (Apostrophes were written as `'` above.)
                let hash = word_hash(&word);
                sink.push(lexicon, start..j, &word, hash, sentence, clause);
                sentence_has_words = true;
                i = j;
                continue;
            }
            match c {
                '.' | '!' | '?' => {
                    let next = text[i + len..].chars().next();
                    let ends = next.is_none_or(|n| n.is_whitespace() || "*_)]\"'”".contains(n));
                    let abbreviation = sink
                        .tokens
                        .last()
                        .filter(|t| t.end == i && t.sentence == sentence)
                        .is_some_and(|t| {
                            let w = &sink.vocab.words[t.word_id as usize].facts;
                            w.abbreviation || (w.chars == 1 && c == '.')
                        });
                    if ends && !abbreviation {
                        end_sentence(
                            i + len,
                            &mut sentence,
                            &mut clause,
                            &mut sentence_start,
                            &mut sentence_has_words,
                            &mut sentences,
                        );
                    } else {
                        clause += 1;
                    }
                }
                '\n' => {
                    let rest = &text[i + 1..];
                    let line = rest.trim_start_matches([' ', '\t', '>']);
                    let blank = line.starts_with('\n') || line.starts_with("\r\n");
                    let list = starts_list_item(line);
                    if blank || list {
                        end_sentence(
                            i,
                            &mut sentence,
                            &mut clause,
                            &mut sentence_start,
                            &mut sentence_has_words,
                            &mut sentences,
                        );
                    }
                }
                ',' | ';' | ':' | '(' | ')' | '—' | '–' | '[' | ']' => clause += 1,
                '-' if text[i + 1..].starts_with(' ') && text[..i].ends_with(' ') => clause += 1,
                _ => {}
            }
            i += len;
        }
        if sentence_has_words {
            sentences.push(sentence_start..text.len());
        }
        let Sink {
            tokens, mut vocab, ..
        } = sink;
        vocab.finish(&tokens);
        Doc {
            text,
            tokens,
            sentences,
            vocab,
            formulas: std::cell::OnceCell::new(),
            scratch: std::cell::RefCell::default(),
        }
    }

    /// The tokens of sentence `sentence` (tokens are in sentence order: found by bisection).
    pub fn sentence_tokens(&self, sentence: usize) -> &[Token] {
        let from = self.tokens.partition_point(|t| t.sentence < sentence);
        let to = self.tokens.partition_point(|t| t.sentence <= sentence);
        &self.tokens[from..to.max(from)]
    }

    /// The word a token is (lower case, thousands separators removed from numbers).
    pub fn word(&self, t: &Token) -> &str {
        self.vocab.word(t.word_id)
    }

    /// The stem of the word a token is.
    pub fn stem_of(&self, t: &Token) -> &str {
        self.vocab.stem(t.word_id)
    }

    /// The number of distinct words of the answer: the `word_id`s of its tokens are below it.
    pub fn distinct_words(&self) -> u32 {
        self.vocab.words.len() as u32
    }

    /// Distinct word `id` (a token's `word_id`), as [`Doc::word`] spells it.
    pub fn spelling(&self, id: u32) -> &str {
        self.vocab.word(id)
    }

    /// The stem of distinct word `id`.
    pub fn stem_of_word(&self, id: u32) -> &str {
        self.vocab.stem(id)
    }

    /// Whether a token is followed by punctuation (`Decrease.`, `Transformer:`), past spaces
    /// and emphasis marks.
    ///
    /// Asked of a few tokens of the answers that have a decision, so worked out on demand:
    /// splitting worked it out for every token of every answer.
    pub fn punct_after(&self, t: &Token) -> bool {
        // (Bytes: the marks skipped and looked for are ASCII, but for the dash.)
        let rest = self.text.as_bytes().get(t.end..).unwrap_or_default();
        let skip = rest
            .iter()
            .take_while(|&&b| matches!(b, b' ' | b'*' | b'_'))
            .count();
        let rest = &rest[skip..];
        matches!(
            rest.first(),
            Some(b',' | b'.' | b'!' | b';' | b':' | b'-' | b'\n')
        ) || rest.starts_with("—".as_bytes())
    }

    /// Whether token `k` stands alone, as a `yes`/`no` answering the question does: first
    /// in its sentence (and no negation: "No linear classifier..." opens a sentence without
    /// being an answer) or followed by punctuation ([`Doc::punct_after`]).
    pub fn standalone(&self, k: usize) -> bool {
        let Some(t) = self.tokens.get(k) else {
            return false;
        };
        let first = k
            .checked_sub(1)
            .is_none_or(|p| self.tokens[p].sentence != t.sentence);
        (first && !t.negation) || self.punct_after(t)
    }

    /// The sentence a token is in, trimmed of markup, at most 240 characters.
    pub fn sentence_text(&self, sentence: usize) -> String {
        let Some(r) = self.sentences.get(sentence) else {
            return String::new();
        };
        let raw = self.text.get(r.clone()).unwrap_or_default();
        let joined = join_words(raw);
        let flat = joined.trim_matches(|c: char| c == '*' || c == '#' || c.is_whitespace());
        // (At most 240 bytes are at most 240 characters; in ASCII, characters are bytes.)
        let ascii_to = |n: usize| flat.as_bytes().get(..n).is_some_and(<[u8]>::is_ascii);
        let long = flat.len() > 240 && (ascii_to(241) || flat.char_indices().nth(240).is_some());
        if long {
            // More than 240 characters: the first 237.
            let end = if ascii_to(237) {
                237
            } else {
                flat.char_indices().nth(237).map_or(flat.len(), |(k, _)| k)
            };
            format!("{}...", &flat[..end])
        } else if flat.len() == joined.len() {
            joined
        } else {
            flat.to_string()
        }
    }

    /// Whether the clauses the tokens `span` touch are negated: an odd number of negation
    /// words in them, not counting the tokens in `own` (the negations a phrase spells).
    pub fn negated(&self, span: Range<usize>, own: &[usize]) -> bool {
        let (Some(first), Some(last)) =
            (self.tokens.get(span.start), self.tokens.get(span.end - 1))
        else {
            return false;
        };
        let clauses = first.clause..=last.clause;
        let mut count = 0;
        let mut k = span.start;
        while k > 0 && self.tokens[k - 1].clause >= first.clause {
            k -= 1;
        }
        while k < self.tokens.len() && self.tokens[k].clause <= last.clause {
            let t = &self.tokens[k];
            // "not only ... but" is not a negation.
            let not_only = || {
                self.word(t) == "not"
                    && self
                        .tokens
                        .get(k + 1)
                        .is_some_and(|n| self.word(n) == "only")
            };
            // "without" negates its object only: the next two words.
            let scoped = || self.word(t) != "without" || (k < span.start && span.start - k <= 2);
            if t.negation
                && clauses.contains(&t.clause)
                && !own.contains(&k)
                && !not_only()
                && scoped()
            {
                count += 1;
            }
            k += 1;
        }
        count % 2 == 1
    }
}

/// The words of `raw` (as `split_whitespace` cuts them) joined by single spaces, in one
/// pass: `raw` without its leading and trailing white space, each other run of white space
/// one space. Most sentences have single spaces only, and are copied at once.
fn join_words(raw: &str) -> String {
    let bytes = raw.as_bytes();
    // Printable ASCII with single spaces between words (most sentences) is its own join:
    // told by a check of 16 bytes at a time without a branch per byte, where the walk below
    // looked at each byte (`cargo xtask bench instructions`).
    let printable = bytes.chunks(16).all(|chunk| {
        chunk
            .iter()
            .fold(true, |ok, b| ok & (b' '..=b'~').contains(b))
    });
    if printable && !raw.starts_with(' ') && !raw.ends_with(' ') && !raw.contains("  ") {
        return raw.to_string();
    }
    // The length of the character at `k` and whether it is white space (ASCII without
    // decoding; `split_whitespace`'s ASCII spaces are these).
    let at = |k: usize| -> (bool, usize) {
        match bytes[k] {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => (true, 1),
            b if b.is_ascii() => (false, 1),
            _ => raw[k..]
                .chars()
                .next()
                .map_or((false, 1), |c| (c.is_whitespace(), c.len_utf8())),
        }
    };
    let mut joined = String::with_capacity(raw.len());
    // `raw[copied..]` is not in `joined` yet.
    let mut copied = 0;
    let mut k = 0;
    while k < bytes.len() {
        // (Printable ASCII, most of the text, is never white space; a space between two
        // such characters stays.)
        if (b'!'..=b'~').contains(&bytes[k])
            || (bytes[k] == b' '
                && k > 0
                && bytes.get(k + 1).is_some_and(|b| (b'!'..=b'~').contains(b)))
        {
            k += 1;
            continue;
        }
        let (space, len) = at(k);
        if !space {
            k += len;
            continue;
        }
        let run = k;
        k += len;
        while k < bytes.len() {
            let (space, len) = at(k);
            if !space {
                break;
            }
            k += len;
        }
        if run == 0 {
            // Leading white space (or only white space).
            copied = k;
        } else if k == bytes.len() {
            // Trailing white space.
            joined.push_str(&raw[copied..run]);
            copied = k;
        } else if !(k - run == 1 && bytes[run] == b' ') {
            joined.push_str(&raw[copied..run]);
            joined.push(' ');
            copied = k;
        }
    }
    joined.push_str(&raw[copied..]);
    joined
}

/// Whether a line starts a list item (`- `, `* `, `1.`, `a)`, `(i)`): it ends a sentence.
fn starts_list_item(line: &str) -> bool {
    let line = line.trim_start();
    if ["- ", "* ", "• ", "+ "].iter().any(|b| line.starts_with(b)) {
        return true;
    }
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    let letters = line.bytes().take_while(u8::is_ascii_alphabetic).count();
    let after = |n: usize| line[n..].starts_with(['.', ')']) && line[n + 1..].starts_with(' ');
    (digits > 0 && digits <= 2 && after(digits))
        || (letters == 1 && after(1))
        || (line.starts_with('(') && line[1..].find(')').is_some_and(|n| n <= 3))
}

/// At most [`MAX_CHARS`] bytes of `text`, cut at a character boundary.
fn cut(text: &str) -> &str {
    if text.len() <= MAX_CHARS {
        return text;
    }
    let mut end = MAX_CHARS;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// One word of a phrase: alternatives (`gradient|derivative`), each a word, a `word*`
/// prefix, or `not` (any negation word).
#[derive(Debug, Clone, PartialEq)]
struct Slot {
    alternatives: Vec<SlotWord>,
    /// Whether the phrase spells a negation here ([`Slot::spells_negation`]), worked out
    /// once: the matcher asks for every candidate token.
    negation: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum SlotWord {
    /// A word, its stem, its number of characters, its [`letter_set`], the [`bucket_key`]
    /// of the word and the [`stem_key`] of the stem.
    Word {
        word: String,
        stem: String,
        chars: usize,
        letters: u32,
        first_key: u8,
        stem_key: u8,
    },
    Prefix(Prefix),
    Negation,
}

/// A `word*` of a phrase: the words it starts.
#[derive(Debug, Clone, PartialEq)]
struct Prefix {
    text: String,
    /// Its [`head`], and the mask of its bytes in a head (of the first 8).
    head: u64,
    mask: u64,
}

impl Prefix {
    fn new(text: &str) -> Prefix {
        let n = text.len().min(8);
        Prefix {
            text: text.to_string(),
            head: head(text),
            mask: if n == 8 {
                u64::MAX
            } else {
                (1u64 << (8 * n)) - 1
            },
        }
    }

    /// Whether a word of `len` bytes whose [`head`] is `head` starts with the prefix
    /// (`word` spells it, asked only for a prefix longer than 8 bytes).
    fn starts<'w>(&self, head: u64, len: usize, word: impl FnOnce() -> &'w str) -> bool {
        len >= self.text.len()
            && head & self.mask == self.head
            && (self.text.len() <= 8 || word().starts_with(self.text.as_str()))
    }
}

/// A phrase of the rule language, compiled.
#[derive(Debug, Clone, PartialEq)]
pub struct Phrase {
    slots: Vec<Slot>,
}

/// Why a phrase is not valid, in words a rubric author can act on.
pub fn phrase_error(phrase: &str) -> Option<String> {
    let trimmed = phrase.trim();
    if trimmed.is_empty() {
        return Some("an empty phrase".into());
    }
    if let Some(c) = trimmed.chars().find(|&c| {
        !(c.is_alphanumeric() || c.is_whitespace() || matches!(c, '|' | '*' | '\'' | '-' | '.'))
    }) {
        return Some(format!(
            "`{phrase}` has `{c}`: a phrase is words (`a|b` for alternatives, `word*` for a \
             prefix); write a formula as `expr:` and a regular expression as `regex:`"
        ));
    }
    for word in trimmed.split_whitespace() {
        for alt in word.split('|') {
            if alt.is_empty() {
                return Some(format!("`{phrase}`: `|` needs a word on each side"));
            }
            let body = alt.strip_suffix('*').unwrap_or(alt);
            if body.is_empty() || body.contains('*') {
                return Some(format!(
                    "`{phrase}`: `*` only ends a word (`ellip*`), after at least one letter"
                ));
            }
            if body.contains('.') && !body.chars().all(|c| c.is_ascii_digit() || c == '.') {
                return Some(format!(
                    "`{phrase}`: `.` only inside a number (`0.25`); a phrase is words, not a \
                     regular expression"
                ));
            }
        }
    }
    None
}

impl Phrase {
    /// Compiles a phrase (assumed valid: see [`phrase_error`]).
    pub fn new(phrase: &str) -> Phrase {
        let slots = phrase
            .split_whitespace()
            .flat_map(|w| {
                // "zero-centred" is two words, as in answers.
                let parts: Vec<&str> = if w.contains('|') {
                    vec![w]
                } else {
                    w.split('-').filter(|p| !p.is_empty()).collect()
                };
                parts.into_iter().map(|w| {
                    let alternatives: Vec<SlotWord> = w
                        .split('|')
                        .filter(|a| !a.is_empty())
                        .map(|a| {
                            let a = a.to_lowercase().replace('’', "'");
                            if let Some(p) = a.strip_suffix('*') {
                                SlotWord::Prefix(Prefix::new(p))
                            } else if a == "not" {
                                SlotWord::Negation
                            } else {
                                let stem = stem(&a);
                                SlotWord::Word {
                                    chars: a.chars().count(),
                                    letters: letter_set(&a),
                                    first_key: bucket_key(&a) as u8,
                                    stem_key: stem_key(&stem),
                                    stem,
                                    word: a,
                                }
                            }
                        })
                        .collect();
                    let negation = Slot::spells_negation(&alternatives);
                    Slot {
                        alternatives,
                        negation,
                    }
                })
            })
            .filter(|s: &Slot| !s.alternatives.is_empty())
            .collect();
        Phrase { slots }
    }

    /// Every match: the tokens matched (first..last+1) and which of them are the phrase's own
    /// negation words.
    pub fn matches(&self, doc: &Doc<'_>) -> Vec<(Range<usize>, Vec<usize>)> {
        let mut out = Vec::new();
        self.each_match(doc, |span, own| {
            out.push((span, own));
            true
        });
        out
    }

    /// Gives `f` the matches of [`Phrase::matches`] one at a time, in order (of their first
    /// token), until it returns false: a caller that needs the first few matches has no use
    /// for finding the others.
    pub fn each_match(&self, doc: &Doc<'_>, mut f: impl FnMut(Range<usize>, Vec<usize>) -> bool) {
        if self.slots.is_empty() {
            return;
        }
        // The tokens each word of the phrase matches, looked up in the document's words: one
        // word's after the other's in `flat`, the `k`-th word's up to `ends[k]`. (Most
        // phrases stop at a word the answer lacks, before any allocation.)
        let mut flat = std::mem::take(&mut *doc.scratch.borrow_mut());
        flat.clear();
        // (Where each word's positions end: a phrase has a few words.)
        let mut ends = [0usize; 8];
        let mut more_ends = Vec::new();
        for (k, slot) in self.slots.iter().enumerate() {
            let from = flat.len();
            doc.vocab.positions_onto(slot, &mut flat);
            if flat.len() == from {
                *doc.scratch.borrow_mut() = flat;
                return;
            }
            match ends.get_mut(k) {
                Some(end) => *end = flat.len(),
                None => more_ends.push(flat.len()),
            }
        }
        let end = |k: usize| match k.checked_sub(ends.len()) {
            None => ends[k],
            Some(k) => more_ends[k],
        };
        let set = |k: usize| &flat[if k == 0 { 0 } else { end(k - 1) }..end(k)];
        let first = &self.slots[0];
        let mut found = 0;
        for &i in set(0) {
            let t = &doc.tokens[i];
            let mut at = i;
            let mut own = Vec::new();
            if first.negation {
                own.push(i);
            }
            let mut ok = true;
            for (k, slot) in self.slots.iter().enumerate().skip(1) {
                let set = set(k);
                let found = (at + 1..doc.tokens.len())
                    .take(GAP + 1)
                    .take_while(|&k| doc.tokens[k].sentence == t.sentence)
                    .find(|&k| set.binary_search(&k).is_ok());
                match found {
                    Some(k) => {
                        if slot.negation {
                            own.push(k);
                        }
                        at = k;
                    }
                    None => {
                        ok = false;
                        break;
                    }
                }
            }
            if ok {
                found += 1;
                if !f(i..at + 1, own) || found >= MAX_MATCHES {
                    break;
                }
            }
        }
        *doc.scratch.borrow_mut() = flat;
    }
}

impl Slot {
    /// Whether the token is one this word of a phrase matches: the definition that
    /// [`Vocab::positions`] computes by lookup (the tests hold the two to each other).
    #[cfg(test)]
    fn matches(&self, doc: &Doc<'_>, t: &Token) -> bool {
        self.alternatives.iter().any(|a| match a {
            SlotWord::Negation => t.negation,
            SlotWord::Prefix(p) => doc.word(t).starts_with(p.text.as_str()),
            SlotWord::Word { word, stem, .. } => same_word(word, stem, doc.word(t), doc.stem_of(t)),
        })
    }

    /// Whether the phrase spells a negation here (`not`, or a negation word such as `no`),
    /// which then does not negate the phrase itself.
    fn spells_negation(alternatives: &[SlotWord]) -> bool {
        alternatives.iter().any(|a| match a {
            SlotWord::Negation => true,
            SlotWord::Word { word, .. } => is_negation(word),
            SlotWord::Prefix(_) => false,
        })
    }
}

/// Whether a rule's word meets an answer's word: the same stem, or the same word up to a
/// typo (one edit for 7 to 9 letters, two from 10; the first letter kept).
#[cfg(test)]
fn same_word(word: &str, stem: &str, t_word: &str, t_stem: &str) -> bool {
    if t_stem == stem || t_word == word {
        return true;
    }
    let n = word.chars().count();
    let allowed = match n {
        0..=6 => return false,
        7..=9 => 1,
        _ => 2,
    };
    word.chars().next() == t_word.chars().next()
        && t_word.chars().count().abs_diff(n) <= allowed
        && !t_word.chars().any(|c| c.is_ascii_digit())
        && letters_apart(word, t_word) <= allowed
        && strsim::damerau_levenshtein(word, t_word) <= allowed
}

/// The letters a word has, as bits: `a` to `z`, and bit 26 for any other character (the
/// slots of [`letters_apart`]). A letter one word has and the other lacks costs an edit, so
/// the larger count of such letters is a lower bound of [`letters_apart`], found with two
/// bit operations.
fn letter_set(word: &str) -> u32 {
    word.chars().fold(0, |set, c| {
        set | match c {
            'a'..='z' => 1 << (c as u32 - 'a' as u32),
            _ => 1 << 26,
        }
    })
}

/// A lower bound of the edit distance of two words, from their letters alone: an insertion
/// or a deletion adds one letter to one side's surplus, a substitution one to each side's,
/// a transposition none. Cheap, so that most words are told apart without computing the
/// distance itself (which the rubric's words and every answer word would otherwise pay).
fn letters_apart(a: &str, b: &str) -> usize {
    let mut counts = [0i32; 27];
    let slot = |c: char| match c {
        'a'..='z' => c as usize - 'a' as usize,
        _ => 26,
    };
    for c in a.chars() {
        counts[slot(c)] += 1;
    }
    for c in b.chars() {
        counts[slot(c)] -= 1;
    }
    let surplus: i32 = counts.iter().filter(|&&d| d > 0).sum();
    let deficit: i32 = -counts.iter().filter(|&&d| d < 0).sum::<i32>();
    // Letters outside a-z share one slot, so the bound stays a lower bound.
    surplus.max(deficit) as usize
}

/// Where a term was found.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// Byte range in the answer.
    pub start: usize,
    pub end: usize,
    pub sentence: usize,
    pub negated: bool,
}

/// Matches of a phrase as hits.
pub fn phrase_hits(phrase: &Phrase, doc: &Doc<'_>) -> Vec<Hit> {
    phrase
        .matches(doc)
        .into_iter()
        .map(|(span, own)| hit_of(doc, span, &own))
        .collect()
}

/// [`phrase_hits`] one at a time, in order, until `f` returns false.
pub fn each_phrase_hit(phrase: &Phrase, doc: &Doc<'_>, mut f: impl FnMut(Hit) -> bool) {
    phrase.each_match(doc, |span, own| f(hit_of(doc, span, &own)));
}

/// The hit of the tokens `span`, negated as their clauses say.
fn hit_of(doc: &Doc<'_>, span: Range<usize>, own: &[usize]) -> Hit {
    let first = &doc.tokens[span.start];
    let last = &doc.tokens[span.end - 1];
    Hit {
        start: first.start,
        end: last.end,
        sentence: first.sentence,
        negated: doc.negated(span, own),
    }
}

/// How close `near` terms must be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Window {
    Sentence,
    /// In one clause (see [`Doc::new`] for where clauses end).
    Clause,
    Words(usize),
}

/// Hits of `near`: every phrase found, in any order, close to the first one's match.
pub fn near_hits(phrases: &[Phrase], window: Window, doc: &Doc<'_>) -> Vec<Hit> {
    let Some((first, rest)) = phrases.split_first() else {
        return Vec::new();
    };
    // Without a match of the first phrase, or of any other, nothing is near.
    let firsts = first.matches(doc);
    if firsts.is_empty() {
        return Vec::new();
    }
    let others: Vec<Vec<(Range<usize>, Vec<usize>)>> =
        rest.iter().map(|p| p.matches(doc)).collect();
    if others.iter().any(Vec::is_empty) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (span, own) in firsts {
        let anchor = &doc.tokens[span.start];
        let mut lo = span.start;
        let mut hi = span.end;
        let mut owns = own.clone();
        let mut ok = true;
        for matches in &others {
            let close = matches.iter().find(|(s, _)| match window {
                Window::Sentence => doc.tokens[s.start].sentence == anchor.sentence,
                Window::Clause => {
                    doc.tokens[s.start].clause == anchor.clause
                        && doc.tokens[s.end - 1].clause == anchor.clause
                }
                Window::Words(n) => {
                    let d = if s.start >= span.start {
                        s.end.saturating_sub(span.start)
                    } else {
                        span.end.saturating_sub(s.start)
                    };
                    d <= n
                }
            });
            match close {
                Some((s, o)) => {
                    lo = lo.min(s.start);
                    hi = hi.max(s.end);
                    owns.extend(o);
                }
                None => {
                    ok = false;
                    break;
                }
            }
        }
        if ok {
            let mut hit = hit_of(doc, lo..hi, &owns);
            hit.sentence = anchor.sentence;
            out.push(hit);
        }
    }
    out
}

/// A formula of the rule language, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Formula {
    expr: Expr,
}

/// Why a formula of a rule cannot be used.
pub fn formula_error(text: &str) -> Option<String> {
    match parse_expr(text) {
        Ok(e) if e.variables().is_empty() => Some(format!(
            "`{text}` has no variable; a number is matched by a phrase (`0.25`)"
        )),
        Ok(_) => None,
        Err(e) => Some(format!(
            "`{text}` is not a formula the expression reader reads: {e}"
        )),
    }
}

impl Formula {
    /// Parses a rule's formula; `None` when it does not parse (lint reports it).
    pub fn new(text: &str) -> Option<Formula> {
        parse_expr(text).ok().map(|expr| Formula { expr })
    }
}

/// Hits of a formula: a formula in a sentence that is the rule's formula, or has it as a
/// factor (`m·a/(1-p)` has the factor `a/(1-p)`), at any level of the student's expression.
pub fn formula_hits(formula: &Formula, doc: &Doc<'_>) -> Vec<Hit> {
    formula_hits_from(formula, doc, usize::MAX, usize::MAX)
}

/// The first `limit` of [`formula_hits`] in the sentences that start at byte `last_start`
/// or before: reading formulas is the dearest part of matching, and a caller that already
/// holds a hit at `last_start`, or wants the first hit only, has no use for the others.
pub fn formula_hits_from(
    formula: &Formula,
    doc: &Doc<'_>,
    last_start: usize,
    limit: usize,
) -> Vec<Hit> {
    // Every formula term of a question looks at the same formulas: each sentence is read
    // once per answer.
    let formulas = doc.formulas.get_or_init(|| {
        (0..doc.sentences.len())
            .map(|_| std::cell::OnceCell::new())
            .collect()
    });
    let read = |range: &Range<usize>| -> Vec<Expr> {
        let Some(text) = doc.text.get(range.clone()) else {
            return Vec::new();
        };
        if !text.chars().any(|c| {
            matches!(
                c,
                '=' | '/' | '*' | '+' | '-' | '^' | '(' | ')' | '·' | '∙' | '×' | '\\'
            )
        }) {
            return Vec::new();
        }
        let chains = find_expressions(text, None).into_iter().map(|f| f.expr);
        chains.chain(formulas_in(text)).collect()
    };
    // (The rule's variables once, not once per formula of the answer.)
    let rule_vars = formula.expr.variables();
    let mut out = Vec::new();
    for (s, range) in doc.sentences.iter().enumerate() {
        if range.start > last_start || out.len() >= limit {
            break;
        }
        if formulas[s]
            .get_or_init(|| read(range))
            .iter()
            .any(|found| expr_matches_with(&formula.expr, &rule_vars, found))
        {
            out.push(Hit {
                start: range.start,
                end: range.end,
                sentence: s,
                negated: false,
            });
        }
    }
    out
}

/// Short words that are prose, not variables, in a formula's neighbourhood.
const PROSE_SHORT: [&str; 24] = [
    "a", "an", "is", "in", "of", "to", "be", "as", "at", "by", "if", "it", "on", "or", "so", "we",
    "no", "do", "the", "and", "for", "its", "is,", "us",
];

/// Whether a short word is in [`PROSE_SHORT`], in any case (ASCII words without the
/// allocation of `to_lowercase`).
fn prose_short(word: &str) -> bool {
    if word.is_ascii() {
        PROSE_SHORT.iter().any(|p| p.eq_ignore_ascii_case(word))
    } else {
        PROSE_SHORT.contains(&word.to_lowercase().as_str())
    }
}

/// Formulas written inline in prose: runs of formula-like chunks ("m·a/(1-p)", "2 * lr")
/// between `=`, `,` and `;`, each read with the expression reader; at most 32 per sentence.
fn formulas_in(sentence: &str) -> Vec<Expr> {
    let mut out = Vec::new();
    let mathy = |chunk: &str| {
        let bare = chunk.trim_matches(|c: char| matches!(c, '.' | ',' | ';' | ':' | '$' | '*'));
        !bare.is_empty()
            && (bare.chars().any(|c| {
                matches!(
                    c,
                    '0'..='9'
                        | '/'
                        | '*'
                        | '+'
                        | '-'
                        | '^'
                        | '('
                        | ')'
                        | '·'
                        | '∙'
                        | '×'
                        | '|'
                        | '['
                        | ']'
                        | '{'
                        | '}'
                        | '\\'
                        | '_'
                )
            }) || (bare.chars().count() <= 2
                && bare.chars().all(char::is_alphabetic)
                && !prose_short(bare)))
    };
    for piece in sentence.split(['=', '≈', ';']) {
        let chunks: Vec<&str> = piece.split_whitespace().collect();
        let mut k = 0;
        while k < chunks.len() && out.len() < 32 {
            if !mathy(chunks[k]) {
                k += 1;
                continue;
            }
            let start = k;
            while k < chunks.len() && mathy(chunks[k]) {
                k += 1;
            }
            let run = chunks[start..k].join(" ");
            let run = run.trim_matches(|c: char| matches!(c, '.' | ',' | ';' | ':' | '$'));
            if run.len() > 200 {
                continue;
            }
            if let Ok(e) = parse_expr(run) {
                out.push(e);
            }
        }
    }
    out
}

/// Whether `found` (or one of its sub-expressions) is `rule` or has it as a factor.
pub fn expr_matches(rule: &Expr, found: &Expr) -> bool {
    expr_matches_with(rule, &rule.variables(), found)
}

/// [`expr_matches`], given the rule's variables `rule_vars`.
///
/// A factor of the rule shares a variable with it, and a sub-expression's variables are
/// among its expression's: most formulas of an answer share none with a rule and are told
/// apart by one walk, where each of their sub-expressions collected its variables and the
/// rule's (`cargo xtask bench instructions`).
fn expr_matches_with(rule: &Expr, rule_vars: &BTreeSet<String>, found: &Expr) -> bool {
    if !mentions_any(found, rule_vars) {
        return false;
    }
    let mut stack = vec![found];
    let mut visited = 0;
    while let Some(e) = stack.pop() {
        visited += 1;
        if visited > 512 {
            return false;
        }
        if has_factor(e, rule, rule_vars) {
            return true;
        }
        match e {
            Expr::Bin { lhs, rhs, .. } => {
                stack.push(lhs);
                stack.push(rhs);
            }
            Expr::Neg { arg } | Expr::Call { arg, .. } => stack.push(arg),
            _ => {}
        }
    }
    false
}

/// Whether `e` has a variable of `vars` (without collecting its variables).
fn mentions_any(e: &Expr, vars: &BTreeSet<String>) -> bool {
    if vars.is_empty() {
        return false;
    }
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        match e {
            Expr::Var { name } => {
                if vars.contains(name) {
                    return true;
                }
            }
            Expr::Neg { arg } | Expr::Call { arg, .. } => stack.push(arg),
            Expr::Bin { lhs, rhs, .. } => {
                stack.push(lhs);
                stack.push(rhs);
            }
            Expr::Num { .. } | Expr::Pi => {}
        }
    }
    false
}

/// `e = rule × g` where `g` does not depend on the rule's variables, and `g` is exactly 1
/// when it is a constant (so `lr` is not `2*lr`).
fn has_factor(e: &Expr, rule: &Expr, rule_vars: &BTreeSet<String>) -> bool {
    if !mentions_any(e, rule_vars) {
        return false;
    }
    let e_vars = e.variables();
    let all: Vec<String> = rule_vars
        .iter()
        .chain(&e_vars)
        .cloned()
        .collect::<BTreeSet<String>>()
        .into_iter()
        .collect();
    // Distinct irrational-ish points in (0.1, 0.9); the other variables stay at point 0
    // unless `vary_others`.
    let value_at = |k: usize, vary_others: bool, name: &str| -> Option<f64> {
        let idx = all.iter().position(|v| v == name)?;
        let k = if !vary_others && !rule_vars.contains(name) {
            0
        } else {
            k
        };
        let x = ((k as f64 + 1.0) * 0.618_034 + (idx as f64 + 1.0) * 0.414_214).fract();
        Some(0.1 + 0.8 * x)
    };
    let ratio = |k: usize, vary: bool| -> Option<f64> {
        let f = |name: &str| value_at(k, vary, name);
        let a = e.eval(&f).ok()?;
        let b = rule.eval(&f).ok()?;
        (b.abs() > 1e-12).then_some(a / b)
    };
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0);
    // The ratio must not change when only the rule's variables change.
    let Some(r0) = ratio(0, false) else {
        return false;
    };
    for k in 1..5 {
        match ratio(k, false) {
            Some(r) if close(r, r0) => {}
            _ => return false,
        }
    }
    // A constant ratio must be 1.
    let constant = (1..5).all(|k| ratio(k, true).is_some_and(|r| close(r, r0)));
    !constant || close(r0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_word_index_finds_exactly_the_tokens_a_scan_finds() {
        let texts = [
            "The recpetive field grows; the reciptive fields grew. Gradients vanish, vanishing \
             gradient, the gradeint is not tiny and doesn't vanish. Ellipse elliptical ellip",
            "receptive receptive2 perceptive décent descent variance variable 0.25 42,000 R^2",
            "No, it cannot; nothing never neither nor nobody dont isn't won't without.",
            "",
        ];
        let phrases = [
            "receptive field",
            "gradient|derivative vanish*",
            "ellip*",
            "not vanish",
            "variance|variable",
            "descent",
            "0.25",
            "r2",
            "gradient",
            "a*",
            "x|not",
            "gradient*",
            "perceptiv*",
            "recpetive*",
            "42*",
        ];
        for text in texts {
            let doc = Doc::new(text);
            for p in phrases {
                for slot in &Phrase::new(p).slots {
                    let scanned: Vec<usize> = (0..doc.tokens.len())
                        .filter(|&k| slot.matches(&doc, &doc.tokens[k]))
                        .collect();
                    assert_eq!(doc.vocab.positions(slot), scanned, "{p} in {text}");
                }
            }
        }
    }

    #[test]
    fn word_lists_are_found_by_shape() {
        for (list, shapes) in [
            (&NEGATIONS[..], &NEGATION_SHAPES),
            (&BARE_CONTRACTIONS[..], &BARE_CONTRACTION_SHAPES),
            (&CLAUSE_WORDS[..], &CLAUSE_SHAPES),
            (&ABBREVIATIONS[..], &ABBREVIATION_SHAPES),
        ] {
            for w in list {
                assert!(
                    (1..16).contains(&w.len()) && w.bytes().all(|b| b.is_ascii_lowercase()),
                    "{w}"
                );
                assert!(listed(w, list, shapes), "{w}");
            }
            for w in [
                "",
                "x",
                "nota",
                "Not",
                "n't",
                "é",
                "buts",
                "therefore1",
                "a",
            ] {
                assert_eq!(listed(w, list, shapes), list.contains(&w), "{w}");
            }
        }
    }

    #[test]
    fn the_letter_bound_never_exceeds_the_edit_distance() {
        let words = [
            "receptive",
            "recpetive",
            "reciptive",
            "perceptive",
            "gradient",
            "gradeint",
            "vanishing",
            "vanshing",
            "variance",
            "variable",
            "descent",
            "décent",
        ];
        for a in words {
            for b in words {
                assert!(
                    letters_apart(a, b) <= strsim::damerau_levenshtein(a, b),
                    "{a} {b}"
                );
            }
        }
        for a in words {
            for b in words {
                let (x, y) = (letter_set(a), letter_set(b));
                let lacking = (x & !y).count_ones().max((y & !x).count_ones()) as usize;
                assert!(lacking <= letters_apart(a, b), "{a} {b}");
            }
        }
        assert_eq!(letters_apart("recpetive", "receptive"), 0);
        assert_eq!(letters_apart("gradient", "variance"), 3);
    }

    fn found(phrase: &str, text: &str) -> Vec<bool> {
        let doc = Doc::new(text);
        phrase_hits(&Phrase::new(phrase), &doc)
            .into_iter()
            .map(|h| h.negated)
            .collect()
    }

    #[test]
    fn word_forms_and_fillers() {
        assert_eq!(
            found("vanishing gradient", "the gradients vanish"),
            Vec::<bool>::new()
        );
        assert_eq!(
            found("gradient vanish", "the gradients are vanishing"),
            vec![false]
        );
        assert_eq!(
            found("one example", "one randomly chosen example"),
            vec![false]
        );
        assert_eq!(found("ellip*", "an elliptical contour"), vec![false]);
        assert_eq!(found("receptive field", "the recpetive field"), vec![false]);
        assert!(found("sample", "a simple model").is_empty());
        assert!(found("layer", "later on").is_empty());
    }

    #[test]
    fn markup_and_line_breaks_are_not_words() {
        let text = "**Vanishing gradients**:\nthe gradient w.r.t. the first layers becomes tiny";
        let doc = Doc::new(text);
        assert_eq!(doc.sentences.len(), 1, "{:?}", doc.sentences);
        assert_eq!(found("vanishing gradient tiny", text), Vec::<bool>::new());
        let near = near_hits(
            &[Phrase::new("vanish*"), Phrase::new("tiny|small")],
            Window::Sentence,
            &doc,
        );
        assert_eq!(near.len(), 1);
        assert_eq!(
            found("dropout", "<b>drop</b>out $\\text{dropout}$"),
            vec![false]
        );
    }

    #[test]
    fn punctuation_after_and_standalone_words() {
        let doc = Doc::new("No, the rate *decreases*. Yes it does\nno linear model - yes");
        let read: Vec<(&str, bool, bool)> = doc
            .tokens
            .iter()
            .enumerate()
            .map(|(k, t)| (doc.word(t), doc.punct_after(t), doc.standalone(k)))
            .collect();
        assert_eq!(
            read,
            [
                // Before a comma: stands alone.
                ("no", true, true),
                ("the", false, false),
                // Emphasis marks and spaces are passed over.
                ("rate", false, false),
                ("decreases", true, true),
                // First in its sentence.
                ("yes", false, true),
                ("it", false, false),
                // A line break is punctuation (and does not end the sentence).
                ("does", true, true),
                ("no", false, false),
                ("linear", false, false),
                ("model", true, true),
                // The end of the text is not punctuation.
                ("yes", false, false),
            ]
        );
    }

    #[test]
    fn negation_is_read_per_clause() {
        assert_eq!(
            found(
                "linear classifier separate",
                "no linear classifier can separate them"
            ),
            vec![true]
        );
        assert_eq!(
            found(
                "linear classifier separate",
                "a linear classifier cannot separate them"
            ),
            vec![true]
        );
        assert_eq!(
            found("saturate", "No, he is not correct: tanh also saturates."),
            vec![false]
        );
        assert_eq!(
            found(
                "memory",
                "An SGD step does not need much memory, since one batch is loaded"
            ),
            vec![true]
        );
        assert_eq!(
            found("not fit memory", "the data does not fit in memory"),
            vec![false]
        );
        assert_eq!(
            found("not fit memory", "the data can't fit into memory"),
            vec![false]
        );
        assert_eq!(
            found("fast", "it does not need much memory and is fast"),
            vec![false]
        );
        assert_eq!(
            found(
                "last state compress",
                "Without attention the last state must compress it"
            ),
            vec![false]
        );
        assert_eq!(found("attention", "without attention it fails"), vec![true]);
    }

    #[test]
    fn set_symbols_read_as_words() {
        assert_eq!(
            found("intersection union", "IoU = |A∩B| / |A∪B|"),
            vec![false]
        );
        assert_eq!(
            found("intersection union", r"$\frac{|A \cap B|}{|A \cup B|}$"),
            vec![false]
        );
    }

    #[test]
    fn formulas_match_by_value_and_as_factors() {
        let doc = Doc::new("The output is m·a/(1-p), so its expectation is a.");
        let f = Formula::new("a/(1-p)").unwrap();
        assert_eq!(formula_hits(&f, &doc).len(), 1);
        let g = Formula::new("1/(1-p)").unwrap();
        assert_eq!(formula_hits(&g, &doc).len(), 1);
        let lr = Formula::new("2*lr").unwrap();
        assert_eq!(
            formula_hits(&lr, &Doc::new("set the new rate to 2 * lr.")).len(),
            1
        );
        assert_eq!(formula_hits(&lr, &Doc::new("keep it at lr / 2.")).len(), 0);
        assert!(formula_error("1/4").is_some());
        assert!(formula_error("a/(").is_some());
    }

    #[test]
    fn long_sentences_are_cut_after_237_characters() {
        for (text, cut) in [
            ("word ".repeat(80), true),
            ("éé ".repeat(120), true),
            (format!("{}é", "a".repeat(239)), false),
            (format!("{}éa", "a".repeat(239)), true),
            ("a".repeat(240), false),
            ("a".repeat(241), true),
        ] {
            let flat = text.trim_end();
            let expected = if cut {
                format!("{}...", flat.chars().take(237).collect::<String>())
            } else {
                flat.to_string()
            };
            assert_eq!(Doc::new(&text).sentence_text(0), expected, "{text}");
        }
    }

    #[test]
    fn sentence_text_joins_words_like_split_whitespace() {
        for raw in [
            "",
            " ",
            "a",
            "  **Bold**  claim:\n\tthe  gradient\u{a0}vanishes\u{2003}here \x0b\x0c\r\n",
            "# heading\n\nnext",
            "ünïcode  wörds\u{3000}ｆｕｌｌ",
            "one two  three\tfour \n five",
            " lead",
            "trail ",
            "\u{85}é\u{a0}x\u{1c}y\u{2003}",
            "\u{3000}",
            "plain words, one space each (and marks).",
            "~ ends with a tilde ~",
        ] {
            let doc = Doc {
                text: raw,
                tokens: Vec::new(),
                sentences: std::iter::once(0..raw.len()).collect(),
                vocab: Vocab::default(),
                formulas: std::cell::OnceCell::new(),
                scratch: std::cell::RefCell::default(),
            };
            let joined = raw.split_whitespace().collect::<Vec<_>>().join(" ");
            let flat = joined.trim_matches(|c: char| c == '*' || c == '#' || c.is_whitespace());
            assert_eq!(doc.sentence_text(0), flat, "{raw:?}");
        }
    }

    #[test]
    fn phrase_errors_name_the_problem() {
        assert!(phrase_error("vanishing gradient").is_none());
        assert!(phrase_error("gradient|derivative small|tiny").is_none());
        assert!(phrase_error("0.25").is_none());
        assert!(phrase_error(r"vanish.{0,20}grad").is_some());
        assert!(phrase_error("a||b").is_some());
        assert!(phrase_error("*x").is_some());
        assert!(phrase_error("").is_some());
    }

    #[test]
    fn any_text_is_read_without_panicking() {
        let pieces = [
            "•", "\n•x", "\n• x", "<", "&", "\\", "∩", "’", "'", "n't", "é", "1.", "\n1.", "(a)",
            "\n(", "?", ".", "\n\n", "\u{301}", "日本", "^", "_", "-", " - ", "0.5", "42,000",
        ];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let text = format!("{a}{b}{c}");
                    let doc = Doc::new(&text);
                    for k in 0..doc.sentences.len() {
                        let _ = doc.sentence_text(k);
                    }
                    let _ = phrase_hits(&Phrase::new("x|not"), &doc);
                    let _ = formula_hits(&Formula::new("1/(1-p)").unwrap(), &doc);
                }
            }
        }
    }

    #[test]
    fn hostile_input_is_bounded() {
        let long = "not ".repeat(40_000);
        let doc = Doc::new(&long);
        assert!(doc.tokens.len() <= 16_384 + 1);
        let text = "<".repeat(10_000) + &"\\".repeat(10_000) + "&#;";
        let _ = Doc::new(&text);
        let _ = found("a b c", "ａ ｂ ｃ ∩∪");
    }
}
