"""Custom Rasa NLU components for the hotline (referenced from config.yml).

- ``bot.nlu.tokenizer.SafeJiebaTokenizer``: jieba with the user dictionaries of data/jieba,
  without whitespace tokens.
- ``bot.nlu.entity_extractor.HotlineEntityExtractor``: canonical values for district,
  residence, household_size, amount (yuan per month), disability_level, phone, reference_no.

The rules themselves are plain functions (``entity_rules``, ``numerals``, ``places``) so that
actions and tests can reuse them without Rasa: ``entity_rules.extract(text)``.
"""
