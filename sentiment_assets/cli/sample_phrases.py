"""What the sample reviews say and what about: a phrasebook per kind of shop (clothing is the
default, after the real drops; home goods give a drop in another vocabulary, for testing drift),
and the clothing catalogue's classes."""

from dataclasses import dataclass

# (Division Name, Department Name, Class Name, what a reviewer calls it, share in % of reviews),
# after the real drops; "Initmates" is misspelt in the source too.
ProductClass = tuple[str, str, str, str, float]
CLASSES: tuple[ProductClass, ...] = (
    ("General", "Dresses", "Dresses", "dress", 16.0),
    ("General Petite", "Dresses", "Dresses", "dress", 11.0),
    ("General", "Tops", "Knits", "top", 14.5),
    ("General Petite", "Tops", "Knits", "tee", 6.0),
    ("General", "Tops", "Blouses", "blouse", 8.2),
    ("General Petite", "Tops", "Blouses", "blouse", 5.0),
    ("General", "Tops", "Sweaters", "sweater", 4.1),
    ("General Petite", "Tops", "Sweaters", "sweater", 2.6),
    ("General", "Tops", "Fine gauge", "cardigan", 3.0),
    ("General Petite", "Tops", "Fine gauge", "pullover", 1.7),
    ("General", "Bottoms", "Pants", "pair of pants", 3.5),
    ("General Petite", "Bottoms", "Pants", "pair of pants", 2.5),
    ("General", "Bottoms", "Jeans", "pair of jeans", 3.4),
    ("General Petite", "Bottoms", "Jeans", "pair of jeans", 1.6),
    ("General", "Bottoms", "Skirts", "skirt", 2.5),
    ("General Petite", "Bottoms", "Skirts", "skirt", 1.2),
    ("General", "Bottoms", "Shorts", "pair of shorts", 1.2),
    ("General", "Bottoms", "Casual bottoms", "pair of joggers", 0.1),
    ("General", "Jackets", "Jackets", "jacket", 1.9),
    ("General Petite", "Jackets", "Jackets", "jacket", 1.4),
    ("General", "Jackets", "Outerwear", "coat", 0.9),
    ("General Petite", "Jackets", "Outerwear", "vest", 0.3),
    ("General", "Trend", "Trend", "top", 0.4),
    ("General Petite", "Trend", "Trend", "tunic", 0.1),
    ("Initmates", "Intimate", "Lounge", "lounge set", 2.1),
    ("General Petite", "Intimate", "Lounge", "hoodie", 1.0),
    ("Initmates", "Intimate", "Swim", "swimsuit", 1.4),
    ("Initmates", "Intimate", "Sleep", "nightgown", 1.1),
    ("Initmates", "Intimate", "Intimates", "bralette", 0.7),
    ("Initmates", "Intimate", "Legwear", "pair of leggings", 0.6),
    ("Initmates", "Intimate", "Layering", "cami", 0.4),
    ("Initmates", "Intimate", "Chemises", "chemise", 0.1),
)


@dataclass(frozen=True)
class Phrasebook:
    """Sentences by tone, verdicts and titles; `{item}` is the product. `items` renames the
    catalogue's products (by class), None keeps the clothing words."""

    positive: tuple[str, ...]
    negative: tuple[str, ...]
    neutral: tuple[str, ...]
    recommend: tuple[str, ...]
    not_recommend: tuple[str, ...]
    positive_titles: tuple[str, ...]
    negative_titles: tuple[str, ...]
    mixed_titles: tuple[str, ...]
    items: tuple[str, ...] | None = None

    def item(self, clothing_item: str, class_index: int) -> str:
        return self.items[class_index % len(self.items)] if self.items else clothing_item


_POSITIVE = (
    "i love this {item}!",
    "the fabric is soft and feels like good quality.",
    "fits true to size.",
    "the color is even prettier in person.",
    "i get compliments every time i wear it.",
    "so comfortable, i could live in it.",
    "it drapes beautifully and is very flattering.",
    "perfect for work or the weekend.",
    "worth every penny.",
    "i ordered my usual size and it fits perfectly.",
    "the quality is great for the price.",
    "i bought it in two colors.",
    "such a cute {item}, exactly like the picture.",
    "i was not expecting to love it this much!",
    "can't stop wearing it.",
    "the details are lovely and well made.",
    "it washes well and keeps its shape.",
    "a great staple for fall.",
)
_NEGATIVE = (
    "it runs small, i could not zip it up.",
    "the fabric is thin and see-through.",
    "not flattering at all.",
    "it didn't fit in the shoulders.",
    "the quality is cheap for the price.",
    "the color looks nothing like the picture.",
    "it was huge and boxy on me.",
    "the seams came apart after one wash.",
    "it shrank in the wash.",
    "very disappointed.",
    "the material is itchy and stiff.",
    "it looked like a sack on me.",
    "this {item} is poorly made.",
    "the sizing is way off.",
    "it wrinkles the moment you put it on.",
    "i wanted to love this {item} but it just didn't work.",
    "unflattering on my body type.",
)
_NEUTRAL = (
    "i usually wear a size {size} and ordered the {size}.",
    "i'm 5'{inches}\" and {pounds} lbs, for reference.",
    "i bought it on sale.",
    "the model is wearing the blue.",
    "i wore it with leggings and boots.",
    "it runs a little large, so size down.",
    "i ordered the petite.",
    "it arrived quickly.",
    "the length hits just below the knee.",
    "the {item} is lined.",
    "it runs small, size up.",
    "i tried it on in the store first.",
    "i bought this {item} {occasion}.",
    "i have it in black too.",
    "my daughter borrowed it already.",
)
_RECOMMEND = (
    "will tell my friends about it.",
    "highly recommend!",
    "i'm keeping it.",
    "ordering another color.",
)
_NOT_RECOMMEND = (
    "returning it.",
    "sadly this one is going back.",
    "i would not recommend it.",
    "back it goes.",
)
_POSITIVE_TITLES = ("Love it!", "Great {item}", "So soft!", "Perfect fit", "Cute {item}", "Love")
_NEGATIVE_TITLES = ("Disappointed", "Runs very large", "Not for me", "Odd fit", "Poor quality")
_MIXED_TITLES = ("Still undecided", "Pretty but going back", "Nice {item}", "Cute but...")

CLOTHING = Phrasebook(
    positive=_POSITIVE,
    negative=_NEGATIVE,
    neutral=_NEUTRAL,
    recommend=_RECOMMEND,
    not_recommend=_NOT_RECOMMEND,
    positive_titles=_POSITIVE_TITLES,
    negative_titles=_NEGATIVE_TITLES,
    mixed_titles=_MIXED_TITLES,
)

# Kitchen and home appliances: hardly a word of the clothing reviews' vocabulary.
HOME = Phrasebook(
    positive=(
        "this {item} works perfectly.",
        "the motor is quiet and powerful.",
        "assembly took ten minutes with the included screwdriver.",
        "the battery lasts all week.",
        "it heats up quickly and evenly.",
        "sturdy construction, solid hardware.",
        "cleanup is a breeze, everything is dishwasher safe.",
        "it looks sleek on my countertop.",
        "the cord reaches the outlet easily.",
        "excellent value for an appliance.",
        "the buttons and timer are intuitive.",
        "my {item} replaced three gadgets.",
    ),
    negative=(
        "the motor burned out after a week.",
        "the lid cracked the first time i used it.",
        "it leaks water across the counter.",
        "the manual was useless.",
        "the plastic smells like chemicals.",
        "it stopped charging after a month.",
        "the handle wobbles and feels flimsy.",
        "way too noisy for an apartment.",
        "the screws stripped during assembly.",
        "this {item} overheats and shuts off.",
        "the warranty department never answered.",
    ),
    neutral=(
        "i use the {item} every morning.",
        "it replaced an older {item}.",
        "shipping took a week.",
        "it came with a spare filter.",
        "i mounted it in the garage.",
        "the box was slightly dented.",
        "i compared several brands before buying.",
        "my husband installed it.",
    ),
    recommend=("five stars from me.", "would buy again.", "a solid purchase."),
    not_recommend=("requesting a refund.", "save your money.", "avoid this brand."),
    positive_titles=("Works great", "Sturdy {item}", "Five stars", "Reliable"),
    negative_titles=("Broke quickly", "Leaks", "Junk", "Defective"),
    mixed_titles=("Decent {item}", "Okay for the price", "Mixed feelings"),
    items=("blender", "toaster", "kettle", "lamp", "vacuum", "coffee maker", "air fryer", "fan"),
)

PHRASEBOOKS = {"clothing": CLOTHING, "home": HOME}
