"""EmojiNet classifier on the emoji datasets (Twemoji and OpenMoji, emoji_pairs train split): jaxgen's emoji feature network.

    jaxgen train --config classifier_emoji --workdir ~/.cache/jaxgen/features/emojinet
    jaxgen train --config classifier_emoji:tiny --workdir /tmp/emojinet_tiny    # seconds; for tests

Its penultimate layer (256-d) gives the features of FID/KID/precision-recall and its logits (the 9 Unicode
emoji groups) the Inception Score on 64x64 emoji of either vendor (`--features emojinet`; the default for
twemoji, openmoji and emoji_pairs when the Inception weights are absent). `jaxgen eval` trains exactly this
config into the path above on first use if nothing is there. See `jaxgen.defaults.classifier.emoji_config`
and docs/evaluation.md ("Emoji features") for its accuracy per vendor and training time.
"""

from jaxgen.defaults import classifier


def get_config(arg=None):
    return classifier.emoji_config(arg)
