"""File -> class rules for the built-in corpus, per Debian package, plus the blacklist.

Each package has an ordered list of ``(regex, label, detail)`` rules matched (case-insensitively, first match
wins) against the file's path inside the package (``usr/share/...``). ``label`` is a key of
:data:`CLASSES`; ``detail`` is a short noun phrase used by the natural-language captions ("a crow cawing").
Files no rule matches are skipped (music, UI clicks of unclear content, fantasy creature voices, spoken
words of unknown speaker). Rules were written by reading the package listings and spot-listening; the
audit (``tqse corpus audit``) backs them with spectrogram and RMS/bandwidth checks, and files found
mislabelled go to :data:`BLACKLIST`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from tqse.data.corpus.rules_pool import POOL_BLACKLIST, POOL_CLASSES, POOL_RULES, pool_family_key

# label -> (category, role). role "target": evaluated class; "interferer": used only as interference
# (ambience beds that contain other classes, synthesisers, thin groups). A target class that ends up with
# too few recordings in a build is demoted to interferer by the builder (see build.MIN_RECORDINGS).
CLASSES: dict[str, tuple[str, str]] = {
    # animals
    "dog": ("animals", "target"), "wolf": ("animals", "target"), "bird": ("animals", "target"),
    "chicken": ("animals", "target"), "duck": ("animals", "target"), "cow": ("animals", "target"),
    "sheep": ("animals", "target"), "horse": ("animals", "target"), "pig": ("animals", "target"),
    "insects": ("animals", "target"), "frog": ("animals", "target"), "elephant": ("animals", "target"),
    "big cat": ("animals", "target"),
    # nature
    "rain": ("nature", "target"), "wind": ("nature", "target"), "thunder": ("nature", "target"),
    "water": ("water", "target"), "fire": ("fire", "target"),
    # vehicles
    "car": ("vehicles", "target"), "aircraft": ("vehicles", "target"), "train": ("vehicles", "target"),
    # alarms / bells / signals
    "bell": ("alarms", "target"), "alarm": ("alarms", "target"), "beep": ("alarms", "target"),
    "clock tick": ("alarms", "target"), "horn signal": ("alarms", "target"),
    # household / tools
    "keyboard typing": ("household", "target"), "hammering": ("tools", "target"),
    "sawing": ("tools", "target"), "wood chopping": ("tools", "target"), "camera shutter": ("household", "target"),
    "glass breaking": ("household", "target"), "coins": ("household", "target"),
    "household appliance": ("household", "target"), "door": ("household", "target"),
    # footsteps and impacts
    "footsteps": ("footsteps", "target"), "explosion": ("impacts", "target"), "gunshot": ("impacts", "target"),
    "sword clash": ("impacts", "target"), "thud": ("impacts", "target"), "whoosh": ("impacts", "target"),
    "bow and arrow": ("impacts", "target"),
    # human sounds
    "crowd": ("human", "target"), "pain grunt": ("human", "target"), "laughter": ("human", "target"),
    "whistle": ("human", "target"), "speech female": ("speech", "target"), "speech male": ("speech", "target"),
    # instruments (MUSIC's 11 + piano, drums; rendered and real samples)
    "accordion": ("instruments", "target"), "acoustic guitar": ("instruments", "target"),
    "cello": ("instruments", "target"), "clarinet": ("instruments", "target"), "erhu": ("instruments", "target"),
    "flute": ("instruments", "target"), "saxophone": ("instruments", "target"),
    "trumpet": ("instruments", "target"), "tuba": ("instruments", "target"), "violin": ("instruments", "target"),
    "xylophone": ("instruments", "target"), "piano": ("instruments", "target"), "drums": ("instruments", "target"),
    "tabla": ("instruments", "target"),
    # interferer-only
    "ambience": ("ambience", "interferer"), "synthesizer": ("instruments", "interferer"),
    "electric guitar": ("instruments", "interferer"), "noise": ("noise", "interferer"),
    "machinery": ("tools", "interferer"), "organ": ("instruments", "interferer"),
}

# Classes whose clips may not interfere with each other in a mixture (one would contain the other).
FAMILIES: dict[str, str] = {"speech female": "speech", "speech male": "speech", "pain grunt": "voice",
                            "laughter": "voice", "crowd": "voice", "rain": "water", "water": "water"}

Rule = tuple[str, str, str]

RULES: dict[str, list[Rule]] = {
    "sonic-pi-samples": [
        (r"/(drum_|bd_|sn_|loop_amen|loop_breakbeat|elec_(filt_snare|fuzz_tom|hi_snare|hollow_kick|lo_snare|"
         r"mid_snare|snare|soft_kick|cymbal))", "drums", "a drum kit"),
        (r"/tabla_|loop_tabla", "tabla", "tabla drums"),
        (r"/guit_", "electric guitar", "an electric guitar"),
        (r"/ambi_piano", "piano", "a piano"),
        (r"/perc_bell|/elec_bell", "bell", "a bell"),
        (r"/misc_crow", "bird", "a crow cawing"),
        (r"/perc_door", "door", "a door"),
        (r"/perc_impact", "thud", "a heavy impact"),
        (r"/perc_sw(oo|a)sh", "whoosh", "a swoosh"),
        (r"/misc_cineboom", "explosion", "a cinematic boom"),
        (r"/(bass_|elec_(beep|blip|blup|bong|chime|ping|plip|pop|tick|twang|twip|flip|wood|triangle)|glitch_|"
         r"mehackit_robot|loop_(electric|garzul|industrial|mehackit|mika|perc|weirdo|compus|drone))",
         "synthesizer", "a synthesizer"),
        (r"/(ambi_|vinyl_hiss|loop_safari)", "ambience", "an ambient drone"),
    ],
    "sound-theme-freedesktop": [
        (r"/(alarm-clock-elapsed|phone-incoming-call|phone-outgoing-(busy|calling))", "alarm", "a ringing alarm"),
        (r"/bell\.", "bell", "a bell"),
        (r"/camera-shutter|/screen-capture", "camera shutter", "a camera shutter"),
        (r"/(complete|device-(added|removed)|dialog-(information|warning|error)|message|power-(plug|unplug)|"
         r"network-connectivity|window-(attention|question)|service-log|suspend-error|audio-volume-change)",
         "beep", "an electronic notification"),
    ],
    "bucklespring-data": [(r"/wav/[0-9a-f]+-[01]\.wav$", "keyboard typing", "a mechanical keyboard")],
    "etw-data": [
        (r"/crowd/|/snd/crowd|/snd/boou", "crowd", "a stadium crowd"),
        (r"/snd/dog", "dog", "a dog barking"),
        (r"/snd/fischio", "whistle", "a referee's whistle"),
        (r"/snd/ouch", "pain grunt", "a man crying out"),
        (r"/snd/(shot|shoot\d?)\.", "thud", "a ball being kicked"),
        (r"/snd/cannon", "gunshot", "a cannon shot"),
        (r"/intro/(engine|brake)", "car", "a car engine"),
        (r"/intro/bombdrop", "explosion", "a falling bomb exploding"),
        (r"/intro/(swam|ground)", "ambience", "a crowd ambience"),
    ],
    "heroes-sound-effects": [
        (r"/claxon", "alarm", "a klaxon"),
        (r"/clock0", "clock tick", "a ticking clock"),
        (r"/coins", "coins", "coins jingling"),
        (r"/explo", "explosion", "an explosion"),
        (r"/foule", "crowd", "a cheering crowd"),
        (r"/ecrase", "thud", "a crash"),
    ],
    "hydrogen-data": [(r"/drumkits/", "drums", "a drum kit")],
    "freeciv-data": [
        (r"/(Lrg|Sml)Expl|/Mortar", "explosion", "an explosion"),
        (r"/(MgBar\d|MgHeavy|LrgCan|MedCan)", "gunshot", "gunfire"),
        (r"/(Splash|inh2o)", "water", "a splash of water"),
        (r"/foot3", "footsteps", "footsteps"),
        (r"/THover|/Tread", "machinery", "an engine"),
        (r"/(metbrk|woodbrk)", "glass breaking", "something breaking"),
    ],
    "alsa-utils": [(r"/Noise\.wav$", "noise", "noise")],
    "lugaru-data": [
        (r"/Bark", "dog", "a dog barking"),
        (r"/(Growl|Snarl)", "wolf", "a wolf growling"),
        (r"/Hawk", "bird", "a hawk screeching"),
        (r"/Fire(Start|End)?\.", "fire", "a crackling fire"),
        (r"/FootStep", "footsteps", "footsteps"),
        (r"/(Clank\d|MetalHit|SwordStaff)", "sword clash", "metal clanging"),
        (r"/(HeavyImpact|Thud|Land\d?|StaffBody|StaffHead)\.", "thud", "a heavy thud"),
        (r"/(HighWhoosh|LowWhoosh|MidWhoosh|MoveWhoosh|Whoosh|KnifeSwish)\.", "whoosh", "a whoosh"),
        (r"/(Break|Broken|StaffBreak)\.", "glass breaking", "something breaking"),
        (r"/Wind\.", "wind", "wind blowing"),
        (r"/Alarm\.", "alarm", "an alarm"),
        (r"/DesertAmbient", "ambience", "a desert ambience"),
        (r"/BushRustle", "ambience", "rustling bushes"),
    ],
    "wesnoth-1.16-data": [
        (r"/ambient/birds", "bird", "birds singing"),
        (r"/ambient/campfire|/sounds/fire\.wav|/flame-big\.|/torch\.|/melee-fire", "fire", "a fire"),
        (r"/ambient/", "ambience", "an outdoor ambience"),
        (r"/wolf-(growl|hit|die)", "wolf", "a wolf"),
        (r"/horse-", "horse", "a horse"),
        (r"/(human|dwarf|elf)-(female-|old-)?(hit|die)", "pain grunt", "a person crying out"),
        (r"/(dwarf-laugh|witches-laugh)", "laughter", "laughter"),
        (r"/(gunshot|thunderstick\.|dragonstick\.)", "gunshot", "a gunshot"),
        (r"/explosion|/cave-in", "explosion", "an explosion"),
        (r"/(sword-1|mace\.|flail\.|axe\.)", "sword clash", "a weapon clashing"),
        (r"/(bow|crossbow)(-puny)?(-fire)?\.", "bow and arrow", "an arrow being shot"),
        (r"/(miss-\d|bow-miss|club-miss|mace-miss|flail-miss|dagger-swish|staff-miss|spear-miss)", "whoosh",
         "a weapon swishing"),
        (r"/(fist|club)\.", "thud", "a punch"),
        (r"/horn-signals/", "horn signal", "a signal horn"),
        (r"/lightning\.", "thunder", "a lightning strike"),
        (r"/water-blast", "water", "a water splash"),
        (r"/sounds/bell\.wav", "bell", "a bell"),
        (r"/gold\.", "coins", "coins"),
    ],
    "widelands-data": [
        (r"/data/music/", None, ""),
        (r"/animals/bird\d", "bird", "birds chirping"),
        (r"/animals/wolf|/animals/coyote", "wolf", "a howling wolf"),
        (r"/animals/crickets", "insects", "crickets chirping"),
        (r"/animals/frog", "frog", "a frog croaking"),
        (r"/animals/(moose|stag)", "ambience", "a deer calling"),
        (r"/animals/boar", "pig", "a boar grunting"),
        (r"/critters/duck", "duck", "a duck quacking"),
        (r"/farm/(horse|donkey)", "horse", "a horse"),
        (r"/farm/ox", "cow", "an ox"),
        (r"/farm/sheep", "sheep", "sheep bleating"),
        (r"/(hammering/|smiths/(smith|toolsmith)|metal/(goldping|ironping))", "hammering", "hammering metal"),
        (r"/saw/|/sawmill/", "sawing", "a saw cutting wood"),
        (r"/woodcutting/(fast_)?woodcutting", "wood chopping", "an axe chopping wood"),
        (r"/woodcutting/tree_falling", "thud", "a tree falling"),
        (r"/(beerbubble|winebubble)", "water", "liquid bubbling"),
        (r"/taverns/|/mill/|/weaving|/furnace|/stonegrind|/stonecutt|/blackwood|/mortar", "machinery",
         "a workshop"),
    ],
    "megaglest-data": [
        (r"/music/", None, ""),
        (r"tilesets/.*/rain\.", "rain", "rain falling"),
        (r"tilesets/.*/wind\.", "wind", "wind howling"),
        (r"tilesets/.*/wolf\.", "wolf", "a wolf howling"),
        (r"tilesets/.*/(chicken|rooster)\.", "chicken", "a rooster crowing"),
        (r"tilesets/.*/(owl|hawk)\.", "bird", "a bird of prey"),
        (r"tilesets/.*/mudchute_cow", "cow", "a cow mooing"),
        (r"tilesets/", "ambience", "a forest ambience"),
        (r"/water_sounds/", "water", "water splashing"),
        (r"/chicken/sounds/", "chicken", "a chicken clucking"),
        (r"/sheep/sounds/", "sheep", "sheep bleating"),
        (r"/bull/sounds/|/cow_(ack|die|select)", "cow", "a cow mooing"),
        (r"/(pig|wild_sow)", "pig", "a pig grunting"),
        (r"/beehive/sounds/", "insects", "bees buzzing"),
        (r"/elephant/sounds/", "elephant", "an elephant trumpeting"),
        (r"/thunderbird/sounds/eagle|/eagle_hit", "bird", "an eagle screeching"),
        (r"/anvil", "hammering", "a hammer on an anvil"),
        (r"/worker_harvest_wood", "wood chopping", "an axe chopping wood"),
        (r"/(swordman|guard)_attack", "sword clash", "swords clashing"),
        (r"/(archer_attack|arrow_hit)", "bow and arrow", "arrows flying"),
        (r"/(catapult_hit|tech_building_fall)", "explosion", "a crash"),
        (r"/orni_fly|/airship/sounds/", "aircraft", "a flying machine"),
    ],
    "tuxpaint-stamps-default": [
        (r"_desc", None, ""),
        (r"/birds/(crow|blackbird|cuckoo|lark|owl|quetzal|tucan|seagull|vulture|heron|penguin|nandou)",
         "bird", "a bird calling"),
        (r"/birds/(hen|rooster|turkey)", "chicken", "a chicken"),
        (r"/birds/(duck|drake|gander)", "duck", "a duck quacking"),
        (r"/insects/(bee|hornet|mosquito|grasshopper)", "insects", "an insect buzzing"),
        (r"/amphibians/frog", "frog", "a frog croaking"),
        (r"/bovines/(cow|bull|bison)", "cow", "a cow mooing"),
        (r"/bovines/(sheep|goat|mountaingoat|ram)", "sheep", "a sheep or goat bleating"),
        (r"/equines/", "horse", "a horse neighing"),
        (r"/mammals/pig", "pig", "a pig oinking"),
        (r"/dogs/dog", "dog", "a dog barking"),
        (r"/cats/|/blackcat", "big cat", "a cat"),
        (r"/mammals/elephant", "elephant", "an elephant trumpeting"),
        (r"/percussion/", "drums", "a drum"),
        (r"/string/cello", "cello", "a cello"),
        (r"/string/violin", "violin", "a violin"),
        (r"/household/(Washing-machine|kettle|toilet|vacuum_cleaner)", "household appliance",
         "a household appliance"),
        (r"/tools/(hammer|mallet_metal)", "hammering", "a hammer"),
        (r"/tools/saw", "sawing", "a hand saw"),
        (r"/dishes/(bottle|glass)", "glass breaking", "glass clinking"),
        (r"/camera_35mm", "camera shutter", "a camera shutter"),
        (r"/lightningbolt", "thunder", "thunder"),
        (r"/fireworks", "explosion", "fireworks exploding"),
        (r"/firetruck", "alarm", "a fire truck siren"),
        (r"/apollo_lander", "aircraft", "a rocket engine"),
    ],
    "tuxpaint-data": [
        (r"/giggle", "laughter", "a child giggling"),
        (r"/typewriterbell", "bell", "a typewriter bell"),
        (r"/keyclick", "keyboard typing", "a key click"),
        (r"/bubble", "water", "bubbles"),
        (r"/(bleep|prompt|youcannot|areyousure|tuxok)\.", "beep", "an electronic beep"),
    ],
    "lincity-ng-data": [
        (r"/Water\d|/ParklandLake", "water", "flowing water"),
        (r"/Fire(\d|Wasteland)", "fire", "a fire burning"),
        (r"/(RocketExplosion|Raze\d)", "explosion", "an explosion"),
        (r"/(Rocket\d|RocketTakeoff)", "aircraft", "a rocket launching"),
        (r"/Trafic", "car", "road traffic"),
        (r"/RailTrain", "train", "a passing train"),
        (r"/SportsCroud", "crowd", "a sports crowd"),
        (r"/Blacksmith", "hammering", "a blacksmith hammering"),
        (r"/(Residential|Industry|Market|Farm|OrganicFarm|CoalMine|OreMine|Commune|Shanty|School|University|"
         r"Harbor|Health|Monument|Mill|Pottery|Recycle|Tip|PowerCoal|Substation|WindMill|PowerSolar|Green|"
         r"ParklandPlane|FireStation|DirtTrack)", "ambience", "a town ambience"),
    ],
    "hedgewars-data": [
        (r"/Music/", None, ""),
        (r"/voices/Robot/", None, ""),
        (r"/voices/[^/]+/Laugh", "laughter", "a person laughing"),
        (r"/voices/[^/]+/(Ooff\d|Ow\d|Ouch|Nooo|PoisonMoan|PoisonCough)", "pain grunt", "a person crying out"),
        (r"/Sounds/(explosion|grenadeimpact|mineimpact|mortar|airmine_impact)\.", "explosion", "an explosion"),
        (r"/Sounds/(gun|shotgunfire|minigun|sniperreload|shotgunreload)\.", "gunshot", "a gun firing"),
        (r"/Sounds/(Droplet\d|splash|planewater|rubberduck_water)\.", "water", "water splashing"),
        (r"/Sounds/(flamethrower|molotov|blowtorch)\.", "fire", "flames roaring"),
        (r"/Sounds/(plane|rcplane|jetpackboost|ufo)\.", "aircraft", "an aircraft"),
        (r"/Sounds/(bee|beewater)\.", "insects", "a bee buzzing"),
        (r"/Sounds/steps\.", "footsteps", "footsteps"),
        (r"/Sounds/(hammer|pickhammer|drillgun)\.", "hammering", "a hammer"),
        (r"/Sounds/(baseballbat|bump|firepunch_hit|graveimpact|melonimpact)\.", "thud", "a blunt impact"),
        (r"/Sounds/(Whistle)\.", "whistle", "a whistle"),
        (r"/Sounds/shutterclick\.", "camera shutter", "a camera shutter"),
        (r"/Sounds/(countdown\d|minetick)\.", "clock tick", "a ticking countdown"),
        (r"/Sounds/(beep|denied)\.", "beep", "an electronic beep"),
    ],
    "asterisk-core-sounds-en-wav": [
        (r"/silence/", None, ""),
        (r"/en_US_f_Allison/", "speech female", "a woman speaking"),
    ],
    "lmms-common": [
        (r"/(drums|beats)/", "drums", "a drum machine"),
        (r"/instruments/cello", "cello", "a cello"),
        (r"/instruments/flute", "flute", "a flute"),
        (r"/instruments/violin", "violin", "a violin"),
        (r"/instruments/trumpet", "trumpet", "a trumpet"),
        (r"/instruments/piano", "piano", "a piano"),
        (r"/instruments/steel_guitar0|/latin/latin_guitar", "acoustic guitar", "an acoustic guitar"),
        (r"/instruments/steel_guitar_", "electric guitar", "a distorted guitar"),
        (r"/instruments/(church_organ|e_organ)", "organ", "an organ"),
        (r"/misc/applause|/misc/raving_crowd", "crowd", "applause"),
        (r"/misc/metronome", "clock tick", "a metronome ticking"),
        (r"/misc/breath", "ambience", "breathing"),
        (r"/effects/explode", "explosion", "an explosion"),
        (r"/effects/wind_chimes", "bell", "wind chimes"),
        (r"/(basses|bassloops|shapes|waveforms|stringsnpads)/", "synthesizer", "a synthesizer"),
    ],
    "dustracing2d-data": [
        (r"/carEngine", "car", "a car engine revving"),
        (r"/skid", "car", "tyres skidding"),
        (r"/carHit", "thud", "a car crash"),
        (r"/cheering", "crowd", "a cheering crowd"),
        (r"/bell", "bell", "a bell"),
        (r"/menuBoom", "explosion", "a boom"),
    ],
    # full tier (public.zip/audio/... is inside 0ad's 3.2 GB zip)
    "0ad-data": [
        (r"audio/(music|interface)/", None, ""),
        (r"audio/ambient/weather/rain", "rain", "rain falling"),
        (r"audio/ambient/weather/thunder", "thunder", "thunder rolling"),
        (r"audio/ambient/weather/(wind|snow)", "wind", "wind blowing"),
        (r"audio/ambient/water/", "water", "water flowing"),
        (r"audio/ambient/", "ambience", "an outdoor ambience"),
        (r"fauna/animal/cattle", "cow", "cattle mooing"),
        (r"fauna/animal/chicken", "chicken", "chickens clucking"),
        (r"fauna/animal/elephant", "elephant", "an elephant trumpeting"),
        (r"fauna/animal/horse", "horse", "a horse"),
        (r"fauna/animal/(sheep|goat)", "sheep", "sheep bleating"),
        (r"fauna/animal/pig", "pig", "a pig squealing"),
        (r"fauna/animal/lion", "big cat", "a lion roaring"),
        (r"fauna/animal/(peacock|flamingo)", "bird", "a bird calling"),
        (r"voice/global/civ_dog_bark", "dog", "a dog barking"),
        (r"human/death/(female_)?death|human/death/male_death", "pain grunt", "a person crying out"),
        (r"actor/singlesteps/|movement/Footsteps/", "footsteps", "footsteps"),
        (r"weapon/(sword_attack|swordhit)", "sword clash", "swords clashing"),
        (r"weapon/(bow_attack|arrowfly)", "bow and arrow", "arrows flying"),
        (r"weapon/Musket", "gunshot", "a musket shot"),
        (r"impact/arrow_wood", "thud", "an arrow hitting wood"),
        (r"attack/fire/", "fire", "a fire crackling"),
        (r"destruction/", "explosion", "a building collapsing"),
        (r"lumbering/lumber_tree\d", "wood chopping", "an axe chopping wood"),
        (r"mining/mine_(metal|stone)", "hammering", "a pickaxe striking rock"),
        (r"construction/con_saw", "sawing", "a saw cutting wood"),
        (r"construction/con_(wood|stone)", "hammering", "builders hammering"),
        (r"voice/[a-z]+/civ/civ_female_", "speech female", "a woman speaking"),
        (r"voice/[a-z]+/civ/civ_male_", "speech male", "a man speaking"),
    ],
    "flightgear-data-base": [
        (r"Sounds/(rain|rain-windshield)\.", "rain", "rain"),
        (r"Sounds/thunder", "thunder", "thunder"),
        (r"Sounds/wind", "wind", "wind blowing"),
        (r"Sounds/tcas/female/", "speech female", "a woman's voice announcing"),
        (r"Sounds/(engine-prop|prop|R-1535Slow|p51d_rpm1|turboprop1|jet|turbine_loop|turbojet_fan|exhaust_loop|"
         r"helicopter|rotor-2blade|blade_vortex)\.|c172p/Sounds/engine(-idle)?\.", "aircraft", "an aircraft engine"),
        (r"Sounds/gatling", "gunshot", "a gatling gun"),
        (r"tires-(screech|rolling)", "car", "tyres rolling and screeching"),
        (r"door[-_](clos|open)", "door", "a door"),
        (r"Sounds/(overspeed\d?|gear-hrn|stall\d?)\.", "alarm", "a warning horn"),
        (r"Sounds/beep\.", "beep", "a beep"),
        (r"Sounds/crash\.|c172p/Sounds/crash", "thud", "a crash"),
    ],
    "redeclipse-data": [
        (r"ambience/(alienwind|blowwind|dizzywind|hollowwind|wastewind|wind)\.", "wind", "wind blowing"),
        (r"ambience/(creek|river|water|waterfall[a-z_0-9]*|cavedrip)\.|sfx/(splashin|splashout|splosh)|"
         r"player/swimstep", "water", "water splashing"),
        (r"ambience/fire|sfx/(burnfire|burning)\.", "fire", "a fire burning"),
        (r"ambience/(cycadas|nightcrickets)", "insects", "insects chirping"),
        (r"ambience/(forest\d|distant_cars|lava|hum|machine)", "ambience", "an ambience"),
        (r"player/(concstep|footstep)", "footsteps", "footsteps"),
        (r"player/(death|pain)", "pain grunt", "a person crying out"),
        (r"sfx/alarm", "alarm", "an alarm"),
        (r"weapons/(explode|mine/explode|rifle/explode|shotgun/explode)", "explosion", "an explosion"),
        (r"weapons/(pistol|smg|shotgun|rifle)/(primary|secondary)", "gunshot", "a gunshot"),
        (r"weapons/(thud|thwack)|player/land", "thud", "a thud"),
    ],
    "supertuxkart-data": [
        (r"/music/|/speech|_speech|airport_pa", None, ""),
        (r"sfx/(car_accel|car_revup|engine_large|engine_small|skid|horn)\.|karts/.*/skid", "car", "a car engine"),
        (r"sfx/airplane_jetEngine", "aircraft", "a jet engine"),
        (r"sfx/(anvil|hammer)\.", "hammering", "hammering"),
        (r"sfx/(crash\d?|strike)\.", "thud", "a crash"),
        (r"sfx/(explosion|fireworks_show)\.", "explosion", "an explosion"),
        (r"sfx/exotic-birds", "bird", "exotic birds"),
        (r"sfx/rain\.", "rain", "rain"),
        (r"sfx/thunder\.", "thunder", "thunder"),
        (r"sfx/(river_loop|waterfall_loop_2|splash)\.", "water", "water"),
        (r"sfx/clock\.", "clock tick", "a clock ticking"),
        (r"sfx/(WilhelmScream|ugh)\.", "pain grunt", "a scream"),
        (r"tracks/.*/cow\.", "cow", "a cow"),
        (r"tracks/.*/sheep\.", "sheep", "sheep"),
        (r"steamLocomotive\.", "train", "a steam locomotive"),
        (r"sfx/gnu_flute", "flute", "a flute"),
    ],
    "supertux-data": [
        (r"/music/|/speech/", None, ""),
        (r"sounds/(explosion|fireworks|firecracker)\.", "explosion", "an explosion"),
        (r"sounds/(fire\.ogg|flame|sizzle|lava)", "fire", "fire"),
        (r"sounds/(splash|waterfall)\.", "water", "water"),
        (r"sounds/rain\.", "rain", "rain"),
        (r"sounds/(thunder|lightning)\.", "thunder", "thunder"),
        (r"sounds/(brick|cracking|icecrash|crystallo-shatter)\.", "glass breaking", "something shattering"),
        (r"sounds/(thud|stomp|kick|squish|splat)\.", "thud", "a thud"),
        (r"sounds/(coin|coin2|coins_cleared)\.", "coins", "coins"),
        (r"sounds/door\.", "door", "a door"),
        (r"sounds/ticking\.", "clock tick", "ticking"),
        (r"sounds/phone\.", "alarm", "a phone ringing"),
        (r"sounds/saw\.", "sawing", "a saw"),
        (r"sounds/savebell", "bell", "a bell"),
        (r"sounds/(grunts|hurt)\.", "pain grunt", "a grunt"),
    ],
}

# Files found mislabelled or unusable by the listening audit (package -> path regexes). A blacklisted file
# never becomes a clip. Keep a reason next to each entry.
BLACKLIST: dict[str, list[tuple[str, str]]] = {
    "freeciv-data": [(r"/Tread\.", "tank treads, mostly engine rumble, ambiguous")],
    "hydrogen-data": [(r"/emptySample\.|/click\.wav$", "silence / metronome click")],
    # audit 2026-11-26: a low rumble below 1 kHz, no audible splash -> not recognisable as water
    "hedgewars-data": [(r"/planewater\.", "plane crashing into water: rumble only, no splash")],
}


@dataclass(frozen=True)
class Label:
    label: str
    detail: str
    role: str
    category: str


# What the pool tier (issue 22) gives a usable file no rule labels: a class-less clip for audio-query training.
UNLABELLED = Label("", "", "unlabelled", "unlabelled")
# The pool keeps unmatched files, so music the old tiers skipped by not matching it must be excluded here:
# folders and file names that hold music beds, in any package.
WIDE_EXCLUDE = (r"/(music|musics|songs?|soundtracks?|bgm|jingles?)/", r"(^|/)(music|song|bgm|jingle)[^/]*\.[a-z0-9]+$")
# Rules the pool puts before a package's own (label "" = unlabelled): fixes to the older tiers' rules that
# those tiers keep as they are, so their clips, splits and the scores quoted on them do not move.
WIDE_RULES: dict[str, list[Rule]] = {
    # Allison's folder also holds pure tones and a joke prompt of screeching monkeys (the pool's other
    # Asterisk languages exclude the same tones)
    "asterisk-core-sounds-en-wav": [(r"/(ascending|descending)-2tone\.|/beep(err)?\.|/confbridge-(join|leave)\.",
                                     None, "pure tones"),
                                    (r"/tt-monkeys\.", "", "monkeys screeching, not speech")],
}


def class_info(label: str) -> tuple[str, str]:
    """``(category, role)`` of a class of any tier."""
    return CLASSES.get(label) or POOL_CLASSES[label]


def classify(package: str, path: str, unlabelled: bool = False) -> Label | None:
    """The class of the file ``path`` (inside ``package``) or ``None`` if it is skipped or blacklisted.

    With ``unlabelled`` (the pool tier), a file no rule matches is :data:`UNLABELLED` instead of skipped,
    unless it lies in a music folder (:data:`WIDE_EXCLUDE`); a rule with label ``None`` still excludes.
    """
    for pattern, _reason in BLACKLIST.get(package, []) + POOL_BLACKLIST.get(package, []):
        if re.search(pattern, path, re.I):
            return None
    rules = RULES.get(package) or POOL_RULES.get(package, [])
    for pattern, label, detail in (WIDE_RULES.get(package, []) if unlabelled else []) + rules:
        if re.search(pattern, path, re.I):
            if label is None:
                return None
            if label == "":
                return UNLABELLED
            category, role = class_info(label)
            return Label(label, detail, role, category)
    if unlabelled and not any(re.search(p, path, re.I) for p in WIDE_EXCLUDE):
        return UNLABELLED
    return None


def family_key(package: str, path: str) -> str:
    """The "file family" of ``path``: takes of one sound (``wolf-hit-1``..``-4``, ``Kick-Hard``/``-Soft``).

    Families are the unit of the train/validation/test split, so several takes of one recording never
    land on both sides. Package-specific cases: bucklespring's keys are grouped by scancode row, hedgewars
    voices by voice pack (one actor), megaglest units by unit folder, asterisk by its single speaker.
    """
    pooled = pool_family_key(package, path)
    if pooled:
        return pooled
    directory, _, name = path.rpartition("/")
    stem = name.rsplit(".", 1)[0].lower()
    if package == "bucklespring-data":
        return f"{package}:row-{stem[0]}"
    if package == "asterisk-core-sounds-en-wav":
        return f"{package}:allison"
    if package == "hedgewars-data" and "/voices/" in path:
        return f"{package}:{directory.rsplit('/', 1)[-1]}"
    if package == "0ad-data" and "/voice/" in path:        # one actor per civilisation and gender
        return f"{package}:{directory.rsplit('/', 2)[-2]}:{'female' if '_female_' in name else 'male'}"
    if "/tcas/female/" in path:
        return f"{package}:tcas-female"
    if package == "megaglest-data" and "/units/" in path:
        return f"{package}:{directory.rsplit('/', 2)[-2]}"
    stem = re.sub(r"[-_ ]?(hardest|hard|med|soft|softest)$", "", stem)
    stem = re.sub(r"[-_ ]?\d+$", "", stem)
    stem = re.sub(r"[-_ ]?\d+$", "", stem)
    return f"{package}:{directory.rsplit('/', 1)[-1]}/{stem}"


def rules_digest(packages: tuple[str, ...] | list[str] | None = None, unlabelled: bool = False) -> str:
    """Short hash of the rules and blacklist of ``packages`` (all when None): a change re-labels them.

    The pool's classes and rules enter the hash only for the pool (``unlabelled``) and its packages, so
    adding them left the digests (and the cached builds) of the older tiers as they were.
    """
    names = sorted(set(RULES) | set(POOL_RULES)) if packages is None else sorted(packages)
    content = [(p, RULES.get(p) or POOL_RULES.get(p), BLACKLIST.get(p) or POOL_BLACKLIST.get(p)) for p in names]
    classes = sorted(CLASSES.items())
    if any(p in POOL_RULES for p in names):
        classes += sorted(POOL_CLASSES.items())
    wide = [WIDE_EXCLUDE, [(p, WIDE_RULES.get(p)) for p in names]] if unlabelled else []
    return hashlib.sha1(repr((content, classes, *wide)).encode()).hexdigest()[:8]
