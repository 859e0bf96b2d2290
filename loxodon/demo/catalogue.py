"""What the demo world is made of: towns, names, businesses, products and what people ask about.

Hand-written lists (no Faker dependency): small enough to read, varied enough to look real.
Phone numbers come only from Ofcom's ranges reserved for drama, so no real person is ever called.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Town:
    name: str
    code: str
    country: str
    time_zone: str
    postcode_area: str  # UK outward-code letters, or a national postcode prefix


def _uk(name: str, area: str, code: str = "") -> Town:
    slug = code or name.lower().replace(" ", "-").replace("'", "")
    return Town(name, slug, "GB", "Europe/London", area)


# 120 service centres: mostly the UK, some in Ireland, France, Germany and the Netherlands.
TOWNS: tuple[Town, ...] = (
    _uk("London (City)", "EC", "london-city"),
    _uk("London (Camden)", "NW", "london-camden"),
    _uk("London (Greenwich)", "SE", "london-greenwich"),
    _uk("London (Hammersmith)", "W", "london-hammersmith"),
    _uk("Croydon", "CR"),
    _uk("Kingston upon Thames", "KT"),
    _uk("Watford", "WD"),
    _uk("Slough", "SL"),
    _uk("Reading", "RG"),
    _uk("Basingstoke", "RG"),
    _uk("Guildford", "GU"),
    _uk("Crawley", "RH"),
    _uk("Brighton", "BN"),
    _uk("Hastings", "TN"),
    _uk("Tunbridge Wells", "TN"),
    _uk("Maidstone", "ME"),
    _uk("Canterbury", "CT"),
    _uk("Southend-on-Sea", "SS"),
    _uk("Chelmsford", "CM"),
    _uk("Colchester", "CO"),
    _uk("Ipswich", "IP"),
    _uk("Norwich", "NR"),
    _uk("Cambridge", "CB"),
    _uk("Peterborough", "PE"),
    _uk("Bedford", "MK"),
    _uk("Milton Keynes", "MK"),
    _uk("Luton", "LU"),
    _uk("Aylesbury", "HP"),
    _uk("Oxford", "OX"),
    _uk("Swindon", "SN"),
    _uk("Salisbury", "SP"),
    _uk("Winchester", "SO"),
    _uk("Southampton", "SO"),
    _uk("Portsmouth", "PO"),
    _uk("Bournemouth", "BH"),
    _uk("Bath", "BA"),
    _uk("Bristol", "BS"),
    _uk("Taunton", "TA"),
    _uk("Exeter", "EX"),
    _uk("Torquay", "TQ"),
    _uk("Plymouth", "PL"),
    _uk("Truro", "TR"),
    _uk("Gloucester", "GL"),
    _uk("Cheltenham", "GL"),
    _uk("Hereford", "HR"),
    _uk("Worcester", "WR"),
    _uk("Birmingham", "B"),
    _uk("Coventry", "CV"),
    _uk("Wolverhampton", "WV"),
    _uk("Telford", "TF"),
    _uk("Shrewsbury", "SY"),
    _uk("Stafford", "ST"),
    _uk("Stoke-on-Trent", "ST"),
    _uk("Northampton", "NN"),
    _uk("Leicester", "LE"),
    _uk("Nottingham", "NG"),
    _uk("Derby", "DE"),
    _uk("Chesterfield", "S"),
    _uk("Lincoln", "LN"),
    _uk("Grimsby", "DN"),
    _uk("Sheffield", "S"),
    _uk("Barnsley", "S"),
    _uk("Doncaster", "DN"),
    _uk("Wakefield", "WF"),
    _uk("Leeds", "LS"),
    _uk("Bradford", "BD"),
    _uk("Huddersfield", "HD"),
    _uk("Harrogate", "HG"),
    _uk("York", "YO"),
    _uk("Scarborough", "YO"),
    _uk("Hull", "HU"),
    _uk("Manchester", "M"),
    _uk("Stockport", "SK"),
    _uk("Oldham", "OL"),
    _uk("Bolton", "BL"),
    _uk("Wigan", "WN"),
    _uk("Warrington", "WA"),
    _uk("Liverpool", "L"),
    _uk("Chester", "CH"),
    _uk("Preston", "PR"),
    _uk("Blackburn", "BB"),
    _uk("Burnley", "BB"),
    _uk("Blackpool", "FY"),
    _uk("Lancaster", "LA"),
    _uk("Kendal", "LA"),
    _uk("Carlisle", "CA"),
    _uk("Darlington", "DL"),
    _uk("Middlesbrough", "TS"),
    _uk("Durham", "DH"),
    _uk("Sunderland", "SR"),
    _uk("Newcastle upon Tyne", "NE"),
    _uk("Cardiff", "CF"),
    _uk("Newport", "NP"),
    _uk("Swansea", "SA"),
    _uk("Aberystwyth", "SY"),
    _uk("Wrexham", "LL"),
    _uk("Bangor", "LL"),
    _uk("Edinburgh", "EH"),
    _uk("Glasgow", "G"),
    _uk("Stirling", "FK"),
    _uk("Dundee", "DD"),
    _uk("Perth", "PH"),
    _uk("Aberdeen", "AB"),
    _uk("Inverness", "IV"),
    _uk("Dumfries", "DG"),
    _uk("Belfast", "BT"),
    _uk("Londonderry", "BT"),
    Town("Dublin", "dublin", "IE", "Europe/Dublin", "D0"),
    Town("Cork", "cork", "IE", "Europe/Dublin", "T12"),
    Town("Galway", "galway", "IE", "Europe/Dublin", "H91"),
    Town("Limerick", "limerick", "IE", "Europe/Dublin", "V94"),
    Town("Paris", "paris", "FR", "Europe/Paris", "750"),
    Town("Lyon", "lyon", "FR", "Europe/Paris", "690"),
    Town("Lille", "lille", "FR", "Europe/Paris", "590"),
    Town("Berlin", "berlin", "DE", "Europe/Berlin", "101"),
    Town("Hamburg", "hamburg", "DE", "Europe/Berlin", "201"),
    Town("Munich", "munich", "DE", "Europe/Berlin", "803"),
    Town("Amsterdam", "amsterdam", "NL", "Europe/Amsterdam", "101"),
    Town("Rotterdam", "rotterdam", "NL", "Europe/Amsterdam", "301"),
    Town("Utrecht", "utrecht", "NL", "Europe/Amsterdam", "351"),
)

DEPARTMENTS: tuple[tuple[str, str], ...] = (
    ("sales-business", "Sales (business)"),
    ("sales-consumer", "Sales (consumer)"),
    ("finance", "Finance"),
    ("support-software", "Technical support (software)"),
    ("support-hardware", "Technical support (hardware)"),
    ("parts", "Parts"),
    ("warranty", "Warranty"),
)

FIRST_NAMES: tuple[str, ...] = (
    "Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Noah", "Mia", "Jack", "Ivy",
    "Leo", "Freya", "Arthur", "Grace", "Muhammad", "Lily", "Oscar", "Sophia", "Charlie",
    "Emily", "Thomas", "Ella", "James", "Poppy", "William", "Evie", "Henry", "Chloe",
    "Alfie", "Jessica", "Joshua", "Ruby", "Daniel", "Hannah", "Samuel", "Sarah", "David",
    "Rachel", "Michael", "Claire", "Andrew", "Fiona", "Peter", "Helen", "Richard", "Susan",
    "Stephen", "Karen", "Paul", "Julie", "Mark", "Nicola", "Ian", "Joanne", "Gareth",
    "Siobhan", "Ciaran", "Aoife", "Niamh", "Declan", "Eilidh", "Callum", "Rhys", "Cerys",
    "Dylan", "Seren", "Aisha", "Omar", "Priya", "Arjun", "Anjali", "Ravi", "Mei", "Wei",
    "Chidi", "Ngozi", "Kwame", "Ama", "Tomasz", "Agnieszka", "Piotr", "Zofia", "Luca",
    "Giulia", "Mateo", "Lucia", "Sven", "Ingrid", "Lars", "Elise", "Pierre", "Camille",
    "Jonas", "Lena", "Finn", "Femke", "Maarten", "Sanne", "Yusuf", "Fatima", "Kofi",
)  # fmt: skip

LAST_NAMES: tuple[str, ...] = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson",
    "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood",
    "Jackson", "Clarke", "Patel", "Khan", "Lewis", "James", "Phillips", "Mason", "Mitchell",
    "Rose", "Davis", "Rodriguez", "Cox", "Alexander", "Morgan", "Moore", "Hughes", "Edwards",
    "Turner", "Cooper", "Ward", "Morris", "King", "Baker", "Harrison", "Scott", "Young",
    "Allen", "Bell", "Carter", "Shaw", "Murray", "Kelly", "Lloyd", "Price", "Bennett",
    "Griffiths", "Owen", "Parry", "Pritchard", "Macdonald", "Campbell", "Stewart", "Reid",
    "Fraser", "Ross", "McLeod", "O'Brien", "O'Connor", "Murphy", "Byrne", "Walsh", "Doyle",
    "Quinn", "Gallagher", "Singh", "Shah", "Ahmed", "Hussain", "Begum", "Chowdhury", "Nair",
    "Okafor", "Mensah", "Adeyemi", "Chen", "Wang", "Nguyen", "Kowalski", "Nowak", "Rossi",
    "Bianchi", "Garcia", "Martin", "Bernard", "Dubois", "Muller", "Schmidt", "Schneider",
    "Fischer", "de Vries", "Jansen", "van Dijk", "Bakker", "Visser", "Lindqvist", "Hansen",
    "Ellis", "Whitaker", "Holloway", "Fairbairn", "Ashworth", "Pemberton", "Barraclough",
)  # fmt: skip

STREET_NAMES: tuple[str, ...] = (
    "High", "Station", "Church", "Mill", "Victoria", "Park", "Queen's", "King's", "Manor",
    "Chapel", "Albert", "Springfield", "Grange", "Meadow", "Orchard", "Willow", "Beech",
    "Cedar", "Holly", "Riverside", "Market", "Bridge", "Castle", "Abbey", "Windsor", "York",
    "Clarence", "Alexandra", "Highfield", "Green", "Hill", "North", "South", "West", "Dale",
)  # fmt: skip
STREET_TYPES: tuple[str, ...] = (
    "Street", "Road", "Lane", "Avenue", "Close", "Drive", "Way", "Crescent", "Gardens",
    "Terrace", "Place", "Grove",
)  # fmt: skip

# Businesses: "<prefix> <trade> <legal form>", e.g. "Pennine Joinery Ltd".
BUSINESS_PREFIXES: tuple[str, ...] = (
    "Pennine", "Northgate", "Riverside", "Harbour", "Meridian", "Summit", "Oakwood", "Castle",
    "Thames", "Severn", "Tyne", "Clyde", "Mersey", "Bridgewater", "Ashdown", "Blackstone",
    "Greenway", "Kingfisher", "Lighthouse", "Millbrook", "Moorland", "Redbrick", "Silverline",
    "Stonebridge", "Westfield", "Eastgate", "Highland", "Cotswold", "Fenland", "Atlas",
    "Beacon", "Crown", "Horizon", "Keystone", "Lakeside", "Phoenix", "Sterling", "Vale",
)  # fmt: skip

# (trade in the name, industry)
BUSINESS_TRADES: tuple[tuple[str, str], ...] = (
    ("Haulage", "Haulage & logistics"),
    ("Logistics", "Haulage & logistics"),
    ("Freight", "Haulage & logistics"),
    ("Couriers", "Haulage & logistics"),
    ("Construction", "Construction"),
    ("Joinery", "Construction"),
    ("Roofing", "Construction"),
    ("Solicitors", "Legal services"),
    ("Accountants", "Accountancy"),
    ("Architects", "Architecture"),
    ("Dental Practice", "Healthcare"),
    ("Veterinary Clinic", "Healthcare"),
    ("Care Homes", "Healthcare"),
    ("Primary School", "Education"),
    ("Academy Trust", "Education"),
    ("Hotels", "Hospitality"),
    ("Brewery", "Food & drink"),
    ("Bakery", "Food & drink"),
    ("Engineering", "Manufacturing"),
    ("Plastics", "Manufacturing"),
    ("Print Works", "Manufacturing"),
    ("Estate Agents", "Property"),
    ("Lettings", "Property"),
    ("IT Services", "IT services"),
    ("Housing Association", "Charity & housing"),
    ("Garden Centre", "Retail"),
    ("Motors", "Retail"),
)

LEGAL_FORMS = {"GB": "Ltd", "IE": "Ltd", "FR": "SARL", "DE": "GmbH", "NL": "B.V."}

CONTACT_ROLES: tuple[str, ...] = (
    "Office manager", "Operations director", "IT manager", "Finance director", "Purchasing",
    "Managing director", "Fleet manager", "Practice manager", "Facilities manager",
)  # fmt: skip

ACCOUNT_NOTES: tuple[str, ...] = (
    "Pays by invoice on 30-day terms; orders over £5,000 need finance approval.",
    "Refreshes staff laptops every three years, usually in March.",
    "Prefers one contact for everything; dislikes being passed between teams.",
    "Has a next-business-day on-site support contract for its printers.",
    "Multi-site: deliveries go to the depot named on each order, not head office.",
    "Asked for consolidated monthly invoices by email.",
    "Price-sensitive; often compares our quotes with online retailers.",
    "Long-standing customer since the 2010s; was unhappy with delivery times last year.",
)


@dataclass(frozen=True)
class Product:
    name: str
    category: str  # laptop | desktop | printer | monitor | accessory
    price: int  # pounds
    serial_prefix: str
    os: tuple[str, ...] = ()


PRODUCTS: tuple[Product, ...] = (
    Product("ProBook 450 G10", "laptop", 849, "5CD", ("Windows 11 Pro", "Windows 10 Pro")),
    Product("EliteBook 840 G8", "laptop", 1149, "5CG", ("Windows 11 Pro", "Windows 10 Pro")),
    Product("EliteBook 840 G3", "laptop", 329, "5CG", ("Windows 7 Professional", "Windows 10 Pro")),
    Product("ThinkPad T14 Gen 4", "laptop", 1099, "PF", ("Windows 11 Pro", "Ubuntu 22.04 LTS")),
    Product("ThinkPad X220", "laptop", 189, "R9", ("Windows 7 Professional", "Windows 8.1")),
    Product("Latitude 5440", "laptop", 929, "LT", ("Windows 11 Pro",)),
    Product("Latitude E7450", "laptop", 249, "LT", ("Windows 7 Professional", "Windows 10 Pro")),
    Product("IdeaPad Slim 5", "laptop", 599, "ID", ("Windows 11 Home",)),
    Product("Chromebook Plus 14", "laptop", 399, "CB", ("ChromeOS",)),
    Product("OptiPlex 7010", "desktop", 699, "OP", ("Windows 11 Pro", "Windows 10 Pro")),
    Product("EliteDesk 800 G6", "desktop", 759, "CZC", ("Windows 10 Pro", "Windows 11 Pro")),
    Product("ThinkCentre M70q", "desktop", 649, "MJ", ("Windows 11 Pro",)),
    Product("OptiPlex 790", "desktop", 159, "OP", ("Windows 7 Professional", "Windows XP")),
    Product("LaserJet Pro M404dn", "printer", 279, "PHB"),
    Product("OfficeJet Pro 9010", "printer", 189, "TH"),
    Product("Color LaserJet MFP M479fdw", "printer", 529, "CNB"),
    Product("ProDisplay P24 G5", "monitor", 169, "CN4"),
    Product("UltraSharp U2723QE", "monitor", 549, "CN0"),
    Product("USB-C Dock G5", "accessory", 189, "DK"),
    Product("65W USB-C power adapter", "accessory", 39, ""),
)

DISCONTINUED_OS = ("Windows 7 Professional", "Windows XP", "Windows 8.1")

SUPPORT_TOPICS: tuple[str, ...] = (
    "Laptop fan is very loud",
    "Printer says paper jam but there is no paper",
    "Wi-Fi keeps dropping on the laptop",
    "Battery only lasts two hours",
    "Screen flickers when the lid moves",
    "Cannot install the printer driver",
    "Keyboard keys are sticking",
    "Docking station does not detect the second monitor",
    "Laptop very slow after an update",
    "Blue screen on start-up",
    "Scanner not found on Windows 11",
    "Touchpad stopped working",
    "Webcam not detected in Teams",
    "Forgot the BIOS password",
)

ACCOUNT_TOPICS: tuple[str, ...] = (
    "Asked for a copy of an invoice",
    "Change of delivery address",
    "Delivery did not arrive",
    "Charged twice for one order",
    "Asked about extended warranty",
    "Cannot log in to the customer portal",
    "Wants to update payment details",
    "Asked when the order will ship",
    "Query about a credit note",
)

WEB_SEARCHES: tuple[str, ...] = (
    "probook 450 battery",
    "laptop will not charge",
    "printer driver windows 11",
    "extended warranty",
    "return policy refurbished",
    "docking station dual monitor",
    "windows 7 support",
    "business account discount",
    "bios update",
    "track my order",
    "toner cartridge m404",
    "thinkpad t14 spec",
)

WEB_PATHS: tuple[str, ...] = (
    "/",
    "/laptops",
    "/laptops/business",
    "/desktops",
    "/printers",
    "/refurbished",
    "/support",
    "/support/drivers",
    "/support/warranty",
    "/account/orders",
    "/business",
    "/offers",
)

CARRIERS: tuple[str, ...] = ("DPD", "Royal Mail", "Parcelforce", "UPS", "DHL", "Own fleet")

CHAT_OPENERS: tuple[str, ...] = (
    "Hi, is the ThinkPad T14 in stock for next-day delivery?",
    "Can I add a docking station to my existing order?",
    "My order says dispatched but the tracking link does not work.",
    "Do refurbished laptops come with a charger?",
    "How do I download my invoice?",
    "Is there a student discount?",
)

SMS_TEXTS: tuple[str, ...] = (
    "Your order {order} has been dispatched with {carrier}.",
    "Your engineer visit is confirmed for tomorrow between 8am and 1pm.",
    "Your repair is ready to collect from our {site} service centre.",
    "Reminder: your warranty ends next month. Reply INFO for options.",
    "Your delivery for order {order} is due today.",
)

LETTER_SUBJECTS: tuple[str, ...] = (
    "Annual statement of account",
    "Warranty certificate",
    "Change to our terms and conditions",
    "Contract renewal notice",
    "Reminder: invoice overdue",
)

# Generic cases: the problem in the customer's words, and the department work it needs.
CASE_TEMPLATES: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "My printer prints faint streaks on every page since I changed the toner.",
        (("support-hardware", "Diagnose print quality"), ("parts", "Send replacement drum")),
    ),
    (
        "I was charged twice for my last order.",
        (("finance", "Refund duplicate payment"),),
    ),
    (
        "The laptop I ordered two weeks ago still hasn't arrived.",
        (("sales-consumer", "Chase the carrier"), ("finance", "Refund delivery charge")),
    ),
    (
        "The laptop gets very hot and switches itself off.",
        (("support-hardware", "Clean fan and replace thermal paste"), ("warranty", "Check cover")),
    ),
    (
        "Our new office PCs can't see the shared printer.",
        (("support-software", "Install network printer driver"),),
    ),
    (
        "I want to return the docking station: it doesn't work with my laptop.",
        (("sales-consumer", "Authorise return"), ("finance", "Refund on receipt")),
    ),
    (
        "We need 20 laptops set up for new starters by the first of the month.",
        (
            ("sales-business", "Quote and order 20 laptops"),
            ("support-software", "Image laptops with company build"),
            ("finance", "Set up invoice terms"),
        ),
    ),
    (
        "The screen on my laptop has a line across it.",
        (("warranty", "Approve screen replacement"), ("parts", "Order replacement panel")),
    ),
    (
        "My laptop is very slow since the last update.",
        (("support-software", "Roll back update and check drivers"),),
    ),
    (
        "The invoice has the wrong company name on it.",
        (("finance", "Reissue invoice"),),
    ),
)

NOTE_LINES: tuple[str, ...] = (
    "Spoke to the customer; they are happy for us to go ahead.",
    "Checked the order history: the unit is covered until next year.",
    "Part is on back-order, supplier promises Thursday.",
    "Customer prefers email updates, not calls during the day.",
    "Left a voicemail with the summary; no need to call back.",
    "Tried remotely first; needs hands-on work.",
)

WAITING_ON_CUSTOMER_REASONS: tuple[str, ...] = (
    "Asked the customer for a photo of the serial number label.",
    "Waiting for the customer to send the unit in.",
    "Asked the customer to try the new driver and tell us.",
)
WAITING_ON_US_REASONS: tuple[str, ...] = (
    "Waiting for a replacement part from the supplier.",
    "Engineer visit booked for next week.",
    "Refund being processed by finance.",
)
CLOSE_UNCONFIRMED_REASONS: tuple[str, ...] = (
    "No reply after three reminders over four weeks; customer can reopen any time.",
    "Customer moved away and asked us to stop contacting them.",
)
