"""Captions for corpus clips: the paper's class template plus natural-language paraphrases.

Every clip gets ``"this is the sound of {class}"`` (the class-label query of Saijo et al., 2025) and
natural captions built from per-class paraphrases and the file's own detail ("a crow cawing").
Paraphrase templates are split into *seen* ones (used for training clips) and *unseen* ones that only
appear on validation / test / out-of-domain clips, so caption generalisation can be measured the way the
paper contrasts AudioCaps-style and Clotho-style captions.
"""

from __future__ import annotations

import numpy as np

CLASS_TEMPLATE = "this is the sound of {}"

# class -> paraphrases; the LAST one is held out (unseen in training).
PHRASES: dict[str, list[str]] = {
    "dog": ["a dog barks", "a dog barking loudly", "barking from a dog", "a dog yelps and barks"],
    "wolf": ["a wolf howls", "a wolf growls", "a howling wolf", "a wild canine snarling and howling"],
    "bird": ["a bird calls", "birds chirping", "a bird sings", "birdsong with chirps and calls"],
    "chicken": ["a chicken clucks", "a rooster crows", "hens clucking", "poultry cackling in a farmyard"],
    "duck": ["a duck quacks", "ducks quacking", "a goose honks", "waterfowl quacking"],
    "cow": ["a cow moos", "cattle mooing", "a bull lows", "a bovine lowing loudly"],
    "sheep": ["a sheep bleats", "sheep baaing", "a goat bleats", "a lamb calling out"],
    "horse": ["a horse neighs", "a horse whinnies", "hooves of a horse", "an equine snorting and neighing"],
    "pig": ["a pig oinks", "a pig grunts", "pigs squealing", "a hog snorting"],
    "insects": ["insects buzzing", "a bee buzzes", "crickets chirping", "the drone of flying insects"],
    "frog": ["a frog croaks", "frogs croaking", "croaking frogs", "an amphibian croaking"],
    "elephant": ["an elephant trumpets", "an elephant calls", "elephant trumpeting", "a large animal trumpeting"],
    "big cat": ["a big cat roars", "a lion roars", "a cat growls", "a feline roaring"],
    "rain": ["rain falls", "rain pattering down", "heavy rain", "a downpour of rain"],
    "wind": ["wind blows", "strong wind howling", "gusts of wind", "a gale whistling past"],
    "thunder": ["thunder rumbles", "a thunderclap", "lightning and thunder", "a storm rumbling"],
    "water": ["water splashes", "water flowing", "splashing water", "liquid sloshing and dripping"],
    "fire": ["a fire crackles", "flames burning", "a crackling fire", "a blaze roaring"],
    "car": ["a car engine runs", "a car drives by", "traffic noise", "a motor vehicle accelerating"],
    "aircraft": ["an aircraft flies over", "an engine roars overhead", "a plane flying", "a flying machine droning"],
    "train": ["a train passes", "a train rumbles by", "a railway train", "a locomotive clattering along"],
    "bell": ["a bell rings", "a bell chimes", "ringing of a bell", "a metallic chime"],
    "alarm": ["an alarm sounds", "a siren wails", "an alarm ringing", "a warning signal blaring"],
    "beep": ["an electronic beep", "a notification sound", "electronic beeping", "a computer chime"],
    "clock tick": ["a clock ticks", "ticking of a clock", "a metronome ticking", "a steady ticking"],
    "horn signal": ["a horn blows", "a signal horn", "a horn call", "a hunting horn blaring"],
    "keyboard typing": ["someone types on a keyboard", "keyboard typing", "keys clicking",
                        "clacking of a keyboard"],
    "hammering": ["a hammer hits metal", "hammering", "someone hammers", "pounding with a hammer"],
    "sawing": ["a saw cuts wood", "sawing", "a saw rasping", "someone sawing a plank"],
    "wood chopping": ["an axe chops wood", "chopping wood", "wood being split", "hacking at a log"],
    "camera shutter": ["a camera shutter clicks", "a camera click", "a photo being taken", "a shutter snapping"],
    "glass breaking": ["glass breaks", "something shatters", "breaking glass", "an object smashing"],
    "coins": ["coins jingle", "coins clinking", "jingling coins", "money rattling"],
    "household appliance": ["a household appliance runs", "a machine whirring at home", "a vacuum cleaner",
                            "a domestic appliance humming"],
    "door": ["a door closes", "a door slams", "a door creaks", "a door shutting"],
    "footsteps": ["footsteps", "someone walking", "steps on the ground", "a person treading"],
    "explosion": ["an explosion", "a loud blast", "something explodes", "a booming detonation"],
    "gunshot": ["a gunshot", "gunfire", "a gun fires", "shots being fired"],
    "sword clash": ["swords clash", "metal clanging", "blades striking", "clashing steel weapons"],
    "thud": ["a heavy thud", "something hits the ground", "a dull impact", "a blunt knock"],
    "whoosh": ["a whoosh", "something swishes past", "a swoosh", "air rushing by quickly"],
    "bow and arrow": ["an arrow is shot", "a bow twangs", "arrows flying", "an archer loosing arrows"],
    "crowd": ["a crowd cheers", "people cheering", "applause from a crowd", "a stadium full of people"],
    "pain grunt": ["a person grunts in pain", "someone cries out", "a pained groan", "a yelp of pain"],
    "laughter": ["someone laughs", "laughter", "a person laughing", "giggling and chuckling"],
    "whistle": ["a whistle blows", "a sharp whistle", "whistling", "a shrill whistle blast"],
    "speech female": ["a woman speaks", "a female voice talking", "a woman talking", "a lady saying something"],
    "speech male": ["a man speaks", "a male voice talking", "a man talking", "a gentleman saying something"],
    "accordion": ["an accordion plays", "accordion music", "someone playing the accordion",
                  "a squeezebox melody"],
    "acoustic guitar": ["an acoustic guitar plays", "acoustic guitar strumming", "a guitar is played",
                        "plucked guitar strings"],
    "cello": ["a cello plays", "cello music", "someone playing the cello", "a low bowed string melody"],
    "clarinet": ["a clarinet plays", "clarinet music", "someone playing the clarinet", "a woodwind melody"],
    "erhu": ["an erhu plays", "erhu music", "a bowed fiddle with slides", "a sliding two-string fiddle melody"],
    "flute": ["a flute plays", "flute music", "someone playing the flute", "an airy woodwind tune"],
    "saxophone": ["a saxophone plays", "saxophone music", "someone playing the sax", "a reedy brass-like melody"],
    "trumpet": ["a trumpet plays", "trumpet music", "someone playing the trumpet", "a bright brass fanfare"],
    "tuba": ["a tuba plays", "tuba music", "someone playing the tuba", "a deep brass bass line"],
    "violin": ["a violin plays", "violin music", "someone playing the violin", "a bowed string melody"],
    "xylophone": ["a xylophone plays", "xylophone music", "someone playing the xylophone",
                  "mallets on wooden bars"],
    "piano": ["a piano plays", "piano music", "someone playing the piano", "keys of a piano"],
    "drums": ["drums play", "a drum beat", "someone playing the drums", "a percussion groove"],
    "tabla": ["tabla drums play", "a tabla rhythm", "someone playing the tabla", "Indian hand drums"],
    "ambience": ["background ambience", "ambient noise", "an ambient soundscape", "environmental background"],
    "synthesizer": ["a synthesizer plays", "electronic synth sounds", "a synth tone", "electronic music"],
    "electric guitar": ["an electric guitar plays", "electric guitar", "a distorted guitar", "an amplified guitar"],
    "noise": ["noise", "static noise", "hiss", "broadband noise"],
    "machinery": ["machinery running", "a machine working", "a workshop", "mechanical noise"],
    "organ": ["an organ plays", "organ music", "a church organ", "organ chords"],
}
SEEN_TEMPLATES = ["{p}", "{p} can be heard", "in this recording, {p}"]
UNSEEN_TEMPLATES = ["you can hear {p} clearly", "a recording in which {p}"]


def class_caption(label: str) -> str:
    """The paper's class-label query, e.g. ``this is the sound of dog``."""
    return CLASS_TEMPLATE.format(label)


def _with_detail(detail: str) -> str:
    return detail if detail and detail[0].isalpha() else ""


def captions_for(label: str, detail: str, split: str, rng: np.random.Generator,
                 n_natural: int = 3) -> tuple[list[str], list[str]]:
    """Captions of one clip.

    Returns:
        ``(captions, unseen)``: ``captions`` = class template + ``n_natural`` captions built from seen
        phrases/templates (these are what training draws from); ``unseen`` (non-train splits only) =
        captions from the held-out phrase and templates, used as the ``caption`` query of eval mixtures.
    """
    phrases = PHRASES.get(label, [label, label])
    seen_p, unseen_p = phrases[:-1], phrases[-1:]
    detail = _with_detail(detail)
    pool = [t.format(p=p) for t in SEEN_TEMPLATES for p in seen_p]
    if detail:
        pool += [detail, f"the sound of {detail}"]
    natural = [pool[i] for i in rng.permutation(len(pool))[:n_natural]]
    captions = [class_caption(label)] + natural
    if split == "train":
        return captions, []
    unseen = [t.format(p=p) for t in UNSEEN_TEMPLATES for p in unseen_p] + [f"{unseen_p[0]}"]
    return captions, unseen
