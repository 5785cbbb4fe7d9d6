"""The fixed lists the demo draws from: purchase rhythms, categories, channels, places, names, comments."""
from __future__ import annotations

from types import MappingProxyType

PATTERNS = ("prospect", "one_time", "new", "occasional", "periodic", "loyal")
PATTERN = MappingProxyType({name: i for i, name in enumerate(PATTERNS)})

# name, typical basket price, gross margin, extra items per order (Poisson mean)
CATEGORIES: tuple[tuple[str, float, float, float], ...] = (
    ("Electronics", 220.0, 0.20, 0.3),
    ("Clothing", 75.0, 0.48, 1.2),
    ("Home", 130.0, 0.36, 0.5),
    ("Beauty", 45.0, 0.55, 1.0),
    ("Sports", 95.0, 0.38, 0.4),
    ("Grocery", 60.0, 0.24, 6.0),
    ("Toys", 55.0, 0.40, 0.6),
)
TOYS = 6  # index of Toys: the holiday season pulls orders there
CHANNELS = ("store", "online", "mobile")
HOURS = MappingProxyType({  # relative weight of each hour of the day, per channel
    "store": (0,) * 9 + (5, 7, 9, 10, 10, 9, 9, 10, 11, 11, 9, 6) + (0,) * 3,
    "online": (2, 1, 1, 0, 0, 1, 2, 3, 4, 5, 6, 6, 7, 6, 6, 6, 6, 7, 8, 10, 11, 10, 7, 4),
    "mobile": (3, 2, 1, 0, 0, 1, 2, 4, 6, 5, 5, 6, 9, 8, 6, 5, 5, 6, 8, 10, 12, 12, 9, 5),
})

# country, share of customers, income factor, cities with weights
COUNTRIES: tuple[tuple[str, float, float, tuple[tuple[str, float], ...]], ...] = (
    ("United States", 0.36, 1.10, (("New York", 0.22), ("Los Angeles", 0.15), ("Chicago", 0.12),
                                   ("Houston", 0.10), ("Dallas", 0.08), ("Seattle", 0.08),
                                   ("Phoenix", 0.07), ("Philadelphia", 0.07), ("San Diego", 0.06),
                                   ("San Antonio", 0.05))),
    ("Australia", 0.20, 1.05, (("Sydney", 0.35), ("Melbourne", 0.32), ("Brisbane", 0.15),
                               ("Perth", 0.10), ("Adelaide", 0.08))),
    ("United Kingdom", 0.14, 0.95, (("London", 0.45), ("Manchester", 0.15), ("Birmingham", 0.15),
                                    ("Leeds", 0.10), ("Glasgow", 0.08), ("Bristol", 0.07))),
    ("Canada", 0.12, 1.00, (("Toronto", 0.40), ("Montreal", 0.22), ("Vancouver", 0.20),
                            ("Calgary", 0.10), ("Ottawa", 0.08))),
    ("Germany", 0.10, 1.00, (("Berlin", 0.30), ("Hamburg", 0.20), ("Munich", 0.20),
                             ("Cologne", 0.15), ("Frankfurt", 0.15))),
    ("France", 0.08, 0.92, (("Paris", 0.45), ("Marseille", 0.15), ("Lyon", 0.15),
                            ("Toulouse", 0.13), ("Nice", 0.12))),
)

BRANCHES: tuple[tuple[str, str, str], ...] = (
    ("New York Fifth Avenue", "New York", "United States"),
    ("Brooklyn Atlantic Terminal", "New York", "United States"),
    ("Los Angeles The Grove", "Los Angeles", "United States"),
    ("Chicago Michigan Avenue", "Chicago", "United States"),
    ("Houston Galleria", "Houston", "United States"),
    ("Seattle Pike Place", "Seattle", "United States"),
    ("Sydney Pitt Street", "Sydney", "Australia"),
    ("Melbourne Bourke Street", "Melbourne", "Australia"),
    ("Brisbane Queen Street", "Brisbane", "Australia"),
    ("London Oxford Street", "London", "United Kingdom"),
    ("Manchester Arndale", "Manchester", "United Kingdom"),
    ("Toronto Eaton Centre", "Toronto", "Canada"),
    ("Vancouver Robson Street", "Vancouver", "Canada"),
    ("Berlin Alexanderplatz", "Berlin", "Germany"),
    ("Munich Marienplatz", "Munich", "Germany"),
    ("Paris Rivoli", "Paris", "France"),
    ("Lyon Part-Dieu", "Lyon", "France"),
)

FEMALE_NAMES = (
    "Olivia", "Emma", "Charlotte", "Amelia", "Sophia", "Isabella", "Mia", "Ava", "Grace", "Chloe",
    "Emily", "Hannah", "Lucy", "Sarah", "Jessica", "Laura", "Rachel", "Megan", "Anna", "Julia",
    "Claire", "Natalie", "Rebecca", "Victoria", "Zoe", "Ella", "Harper", "Lily", "Ruby", "Maya",
    "Sofia", "Léa", "Camille", "Lena", "Marie", "Priya", "Aisha", "Mei", "Elena", "Nora",
)
MALE_NAMES = (
    "Liam", "Noah", "Oliver", "James", "William", "Lucas", "Henry", "Jack", "Thomas", "Daniel",
    "Matthew", "Samuel", "Joseph", "David", "Michael", "Benjamin", "Ethan", "Ryan", "Nathan", "Adam",
    "Andrew", "Christopher", "Joshua", "Luke", "Max", "Leo", "Oscar", "Harry", "George", "Charlie",
    "Hugo", "Louis", "Felix", "Jonas", "Paul", "Arjun", "Omar", "Wei", "Mateo", "Gabriel",
)
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor",
    "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White", "Harris", "Clark", "Lewis", "Walker",
    "Young", "Allen", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Hill",
    "Campbell", "Mitchell", "Roberts", "Carter", "Phillips", "Evans", "Turner", "Parker", "Collins", "Edwards",
    "Stewart", "Morris", "Murphy", "Cook", "Rogers", "Morgan", "Cooper", "Peterson", "Reed", "Bailey",
    "Kelly", "Howard", "Ward", "Cox", "Richardson", "Wood", "Watson", "Brooks", "Bennett", "Gray",
    "O'Brien", "Nguyen", "Patel", "Chen", "Singh", "Müller", "Schmidt", "Schneider", "Fischer", "Weber",
    "Martin", "Bernard", "Dubois", "Lefebvre", "Moreau", "Garcia", "Rodriguez", "Lopez", "Kowalski", "Rossi",
)
TOP_BUYER_NAMES = (
    "Eleanor Whitfield", "Marcus Delaney", "Sofia Brennan", "Jonathan Hale", "Priya Raman",
    "Theodore Ashworth", "Isabelle Fontaine", "Gregory Lindqvist",
)

COMMENTS = MappingProxyType({
    "promoter": (
        "Great selection and friendly staff.", "Fast delivery, will order again.",
        "Love the app, checkout takes seconds.", "Always find what I need.",
        "Excellent value for money.", "Customer service sorted my return in minutes.",
        "My go-to shop for the whole family.",
    ),
    "passive": (
        "Good overall, delivery could be faster.", "Prices are fine but the website is slow.",
        "Decent range, sometimes out of stock.", "Okay experience, nothing special.",
        "Store is nice but the queues are long on weekends.", "Would like more payment options.",
    ),
    "detractor": (
        "Delivery was late twice.", "Coupons are hard to redeem in store.",
        "Too expensive compared to other shops.", "My item arrived damaged.",
        "Support never answered my email.", "The app keeps logging me out.",
        "Returned an item and waited weeks for the refund.",
    ),
})
