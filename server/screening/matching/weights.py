"""Every score constant of the matcher: name comparison, other features, thresholds.

One place to read and tune them; docs/matching.md shows them as one table, and a test
checks that table against this module. Names say what each number is; the comments say
why it has its size.
"""

from __future__ import annotations

# -- thresholds -------------------------------------------------------------------------
# The alert threshold the weights are set for: the default min_score (config.py holds the
# service's default, equal to this). A match at or above it is an alert.
ALERT_THRESHOLD = 0.80
# Scores closer than this are equal for ordering: a doubled letter moves a score by a few
# thousandths, which says nothing about which entry is the better match.
SCORE_RESOLUTION = 0.01
# How far below min_score a candidate's estimated name score may be and still be scored.
ESTIMATE_SLACK = 0.15

# -- token weights ----------------------------------------------------------------------
# A token's weight is its inverse document frequency over the loaded lists, scaled to
# 0-1 and floored here: a word every entry uses still says a little.
MIN_TOKEN_WEIGHT = 0.1
# A word used by this many list entries or fewer is rare for the evidence ceiling: one
# designation is copied into several lists.
LIST_RARE_ENTRIES = 10
# What a number proves ("7", "2007"): little, names of many kinds carry them.
NUMBER_RARITY = 0.3
# Weight of a legal-form token ("llc", "jsc"): present in the score, never decisive.
LEGAL_FORM_WEIGHT = 0.08

# -- token similarity -------------------------------------------------------------------
# Lowest token similarity that counts as an alignment.
MIN_TOKEN_SIMILARITY = 0.70
# An initial stands for any word with that first letter.
INITIAL_SIMILARITY = 0.75
# Two letters swapped in a three-letter word ("sko" / "sok").
SWAPPED_SHORT_SIMILARITY = 0.75
# Equal transliteration keys (Yuriy / Iouri): the same sound, another spelling.
TRANSLIT_KEY_SIMILARITY = 0.92
# A typo is a letter or two: a word more letters off, in its spelling or in its
# transliteration key, is another word however long ("Maroghashvili" / "Margoshvili",
# "constructors" / "construction").
MAX_WORD_EDITS = 2
# Initials of adjacent words ("jc" / "jean claude", "pla" / "peoples liberation army").
INITIALS_SIMILARITY = 0.8
# An organisation's name of one word this short (besides its legal form) must agree as
# spelt or by transliteration key: brands, tickers and acronyms one letter apart are
# other names.
SHORT_NAME = 5
# Lowest similarity of glued-together unaligned words that counts as an alignment.
MIN_GLUED_SIMILARITY = 0.85
# Whole names glued together this similar align as one word (nearly the same letters: a
# different word inside a long name must not pass for a cut).
WHOLE_NAME_GLUED = 0.95
# ... and differ by at most this many letters inserted or deleted (a doubled letter, a
# transposition).
WHOLE_NAME_EDITS = 2
# Consonant skeletons (abjad against Latin) are weaker evidence than spellings: an equal
# skeleton counts as this similar, and one or two consonants must match exactly.
SKELETON_SIMILARITY = 0.85
SHORT_SKELETON_SIMILARITY = 0.7

# Both names carry a legal form and the forms differ (an LP against an LLC): two legal
# persons of one name.
LEGAL_FORM_CONFLICT = 0.1

# -- name score: 1 - CONFLICT*min(u_q,u_c) - missing*max(u_q,u_c) - TYPO*d -----------------
# Both names hold identifying words the other lacks: two different people.
CONFLICT = 1.2
# One name holds words the other lacks: a shorter form of the same name.
MISSING = 0.35
# Screening: words of the query that the listed name lacks weigh more than the reverse.
# Lists hold full names that requests shorten ("Dost Mohammad" for "Dost Mohammad Khan
# Haqqani"), while an innocent person's full name often contains a shorter listed one.
MISSING_IN_LISTED = 0.5
# Aligned words that are not spelled the same: weighs like a typo, not like a missing word.
TYPO = 1.0
# "Salman bin Muhammad" is not "Muhammad bin Salman": a reversed patronymic chain.
PATRONYMIC_REVERSED = 0.25
# A weak alias (the list's own "low quality" mark) counts this much of its name score.
WEAK_ALIAS_FACTOR = 0.92

# -- how much the evidence proves (screening only) -----------------------------------------
# A screening score may not exceed ALERT_THRESHOLD + CEILING_SLOPE * (I - INFORMATION_FOR_ALERT),
# where I is what the evidence proves: the rarity of the query words that agreed (times
# their similarity; a word rare in the lists and as a name weighs 1, the commonest names
# about 0.1) plus what agreeing features prove. So an alert needs most of one rare word or
# several fairly rare ones, and a near-certain score (0.95) about one rare word.
INFORMATION_FOR_ALERT = 0.8
CEILING_SLOPE = 1.0
# At most what one word compared as a consonant skeleton (abjad against Latin: many names
# share one) or as a romanised syllable of a Korean, Chinese or Japanese name proves.
SKELETON_INFORMATION = 0.35
SYLLABLE_INFORMATION = 0.3
# At most what a whole name in a syllabic script proves against a romanised one: less than
# an alert needs, as romanisation merges homophones (Korean 종/정 are both "jong").
SYLLABIC_NAME_INFORMATION = 0.7
# What an agreeing feature proves, on the scale of name words (a weight w is about one in
# 5000**w): a birth date on the day (one in thirty thousand), in the year (one in
# eighty), a year apart (one in thirty), a country (one in twenty).
CORROBORATION = {
    "birth_date_exact": 1.2,
    "birth_date": 0.5,
    "birth_date_near": 0.25,
    "country": 0.35,
}

# -- other features, added to the name score --------------------------------------------
# Agreement adds a little (it mostly raises the evidence ceiling, above). Disagreement
# costs log(likelihood ratio) / log(5000), the scale of name words: the ratio of how
# often it happens to the same party and to a different one, counted on the tuning half
# of the dev cases (listed people against their own entries; innocent people and
# companies against the entries they come nearest), with P(disagree | same) floored at
# 0.05 for data-entry errors, dual nationality and second registrations (docs/matching.md).
DOB_EXACT = 0.05
DOB_SAME_YEAR = 0.03
# A year apart is common noise in both lists and requests.
DOB_NEAR_YEAR = 0.0
# 0.05 / 0.55: more than a year apart, log(0.09) / log(5000)
DOB_MISMATCH = -0.28
COUNTRY_MATCH = 0.03
# 0.05 / 0.75: a country not among the entry's, log(0.066) / log(5000)
COUNTRY_MISMATCH = -0.32
TYPE_MISMATCH = -0.25
# An equal identifier of a scheme that names one party lifts the score to at least this.
IDENTIFIER_DECISIVE = 0.99
# 0.05 / 1: another value in a scheme both hold (no identifier in the dev cases: the
# floor against certainty), log(0.05) / log(5000)
IDENTIFIER_CONFLICT = -0.35
