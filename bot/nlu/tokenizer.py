"""Jieba tokenizer that never emits whitespace tokens.

Rasa's ``JiebaTokenizer`` keeps the spaces that jieba returns as tokens ("我想申请 低保" ->
[..., " ", "低保"]). Those empty tokens shift the featurizers and DIET's entity tags
(RasaHQ/rasa#7910), and voice input is full of stray spaces, so we drop them here.

The user dictionaries live in a folder (``dictionary_path``, e.g. ``data/jieba``); every
``*.txt`` file in it is loaded, in name order, so that a README or an editor backup in the
folder cannot be fed to jieba by accident.
"""

from __future__ import annotations

import glob
import logging
import os
import shutil

import jieba
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message

logger = logging.getLogger(__name__)

# DIET's transformer costs time quadratic in the number of tokens (8,000 characters: 3 s; 64 KB: minutes).
# The doors cap a message at 1,000 characters (bot.limits), i.e. at most 1,000 tokens; whatever reaches
# the NLU another way (the loopback HTTP API) is read no further than that.
MAX_TOKENS = 1000

# Files already handed to jieba in this process (jieba's dictionary is process-global, and
# loading the same file twice only costs time).
_LOADED: set[str] = set()


def dictionary_files(path: str) -> list[str]:
    """The user dictionary files of ``path`` (a folder or one file), sorted by name."""
    if os.path.isfile(path):
        return [os.path.abspath(path)]
    return sorted(os.path.abspath(f) for f in glob.glob(os.path.join(path, "*.txt")))


def load_user_dictionaries(path: str) -> int:
    """Load every user dictionary of ``path`` into jieba once; returns how many were new."""
    files = dictionary_files(path)
    if not files:
        raise FileNotFoundError(f"No jieba user dictionary (*.txt) found at '{path}'.")
    new = 0
    for file in files:
        key = f"{file}:{os.path.getmtime(file)}"
        if key in _LOADED:
            continue
        logger.debug("Loading jieba user dictionary %s", file)
        jieba.load_userdict(file)
        _LOADED.add(key)
        new += 1
    return new


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class SafeJiebaTokenizer(JiebaTokenizer):
    """``JiebaTokenizer`` that drops whitespace-only tokens and loads only ``*.txt`` files.

    Config keys are those of ``JiebaTokenizer``; ``dictionary_path`` is a folder (or file)
    of jieba user dictionaries in the format ``word [freq] [tag]``.
    """

    @staticmethod
    def _load_custom_dictionary(path: str) -> None:
        """Load the user dictionaries (overrides the parent, which loads every file)."""
        load_user_dictionaries(path)

    def persist(self) -> None:
        """Copy only the dictionary files (``*.txt``) into the model storage."""
        path: str | None = self._config["dictionary_path"]
        if path is None:
            return
        with self._model_storage.write_to(self._resource) as directory:
            for file in dictionary_files(path):
                shutil.copy2(file, str(directory))

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        """Tokenize with jieba, leaving out tokens that are only whitespace; at most MAX_TOKENS."""
        tokens = super().tokenize(message, attribute)
        return [token for token in tokens if token.text.strip()][:MAX_TOKENS]
