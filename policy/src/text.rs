//! Prompt tokenization with the `tokenizers` crate.
//!
//! A checkpoint directory carries `tokenizer.json` (for OpenVLA, the Llama tokenizer). The
//! small presets use a byte-level tokenizer built by [`byte_level_tokenizer_json`]: ids 0–2
//! are `<unk>`, `<s>`, `</s>`, and ids 3–258 the bytes `<0x00>`…`<0xFF>` (BPE with byte
//! fallback and no merges), so any UTF-8 instruction tokenizes without a vocabulary download.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use tokenizers::Tokenizer;

use crate::model::Config;
use crate::{PolicyError, Result};

/// The `tokenizer.json` of the byte-level vocabulary used by the `tiny`/`small`/`base` presets.
pub fn byte_level_tokenizer_json() -> String {
    let specials = ["<unk>", "<s>", "</s>"];
    let mut vocab = serde_json::Map::new();
    for (i, s) in specials.iter().enumerate() {
        vocab.insert((*s).to_owned(), (i as u64).into());
    }
    for b in 0..=255_u64 {
        vocab.insert(format!("<0x{b:02X}>"), (b + 3).into());
    }
    let added: Vec<serde_json::Value> = specials
        .iter()
        .enumerate()
        .map(|(i, s)| {
            serde_json::json!({"id": i, "content": s, "single_word": false, "lstrip": false,
                "rstrip": false, "normalized": false, "special": true})
        })
        .collect();
    serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": added,
        "normalizer": null, "pre_tokenizer": null, "post_processor": null,
        "decoder": {"type": "ByteFallback"},
        "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>",
            "continuing_subword_prefix": null, "end_of_word_suffix": null, "fuse_unk": false,
            "byte_fallback": true, "ignore_merges": false, "vocab": vocab, "merges": []}
    })
    .to_string()
}

/// Turns an instruction into prompt token ids (without BOS, which the model adds).
pub struct PromptTokenizer {
    tokenizer: Tokenizer,
    source: PathBuf,
    template: String,
    trailing: Option<u32>,
    max_tokens: usize,
}

impl PromptTokenizer {
    /// Load `tokenizer.json` from `path`.
    pub fn from_file(path: &Path, cfg: &Config) -> Result<Self> {
        if !path.exists() {
            return Err(PolicyError::Tokenizer {
                path: path.to_owned(),
                reason: "file not found".into(),
            });
        }
        let tokenizer = Tokenizer::from_file(path).map_err(|e| PolicyError::Tokenizer {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        Ok(Self::with(tokenizer, path.to_owned(), cfg))
    }

    /// The built-in byte-level tokenizer.
    pub fn byte_level(cfg: &Config) -> Result<Self> {
        let source = PathBuf::from("<byte-level tokenizer>");
        let tokenizer = Tokenizer::from_str(&byte_level_tokenizer_json()).map_err(|e| {
            PolicyError::Tokenizer {
                path: source.clone(),
                reason: e.to_string(),
            }
        })?;
        Ok(Self::with(tokenizer, source, cfg))
    }

    fn with(tokenizer: Tokenizer, source: PathBuf, cfg: &Config) -> Self {
        Self {
            tokenizer,
            source,
            template: cfg.file.prompt_template.clone(),
            trailing: cfg.file.tokens.prompt_trailing_token_id,
            max_tokens: cfg.file.max_prompt_tokens,
        }
    }

    /// Template the lower-cased instruction and tokenize it; appends the trailing token when
    /// configured (29871 for Llama, matching training). Empty or over-long instructions are
    /// errors.
    pub fn encode(&self, instruction: &str) -> Result<Vec<u32>> {
        let instruction = instruction.trim();
        if instruction.is_empty() {
            return Err(PolicyError::bad_input("instruction", "is empty"));
        }
        let prompt = self
            .template
            .replace("{instruction}", &instruction.to_lowercase());
        let enc = self
            .tokenizer
            .encode(prompt, false)
            .map_err(|e| PolicyError::Tokenizer {
                path: self.source.clone(),
                reason: e.to_string(),
            })?;
        let mut ids = enc.get_ids().to_vec();
        if let Some(t) = self.trailing
            && ids.last() != Some(&t)
        {
            ids.push(t);
        }
        if ids.len() > self.max_tokens {
            return Err(PolicyError::bad_input(
                "instruction",
                format!(
                    "prompt is {} tokens, the model accepts at most {}",
                    ids.len(),
                    self.max_tokens
                ),
            ));
        }
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::presets;

    #[test]
    fn byte_level_round_trip() {
        let cfg = presets::preset("tiny").unwrap();
        let t = PromptTokenizer::byte_level(&cfg).unwrap();
        let ids = t.encode("Put the Bowl on the plate").unwrap();
        let prompt = "In: What action should the robot take to put the bowl on the plate?\nOut:";
        let expected: Vec<u32> = prompt.bytes().map(|b| u32::from(b) + 3).collect();
        assert_eq!(ids, expected);
        // Non-ASCII falls back to UTF-8 bytes.
        let ids = t.encode("é").unwrap();
        assert!(ids.windows(2).any(|w| w == [0xC3 + 3, 0xA9 + 3]));
    }

    #[test]
    fn empty_and_long_instructions_are_errors() {
        let cfg = presets::preset("tiny").unwrap();
        let t = PromptTokenizer::byte_level(&cfg).unwrap();
        assert!(matches!(t.encode("   "), Err(PolicyError::BadInput { .. })));
        let long = "a".repeat(500);
        let err = t.encode(&long).unwrap_err().to_string();
        assert!(err.contains("at most 160"), "{err}");
        let missing = PromptTokenizer::from_file(Path::new("/nonexistent/tokenizer.json"), &cfg);
        assert!(matches!(missing, Err(PolicyError::Tokenizer { .. })));
    }
}
