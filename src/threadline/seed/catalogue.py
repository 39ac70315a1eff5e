"""The fixed cast and phrasebook of the demo workspace: agents, teams, names and message texts."""
# ruff: noqa: RUF001  (Ukrainian texts are written in Cyrillic on purpose)

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from threadline.domain.security.access import Role


@dataclass(frozen=True)
class DemoAgent:
    email: str
    name: str
    role: Role
    teams: tuple[str, ...]
    skills: dict[str, int]
    channel_competences: dict[str, int]
    languages: tuple[str, ...]
    max_conversations: int = 8
    capacity_extra: dict[str, int] = field(default_factory=dict)


CONSUMER_TEAM = "Consumer support"
B2B_TEAM = "B2B desk"
PHONE_TEAM = "Phone & messaging"
TEAMS = (CONSUMER_TEAM, B2B_TEAM, PHONE_TEAM)

AGENTS: tuple[DemoAgent, ...] = (
    DemoAgent(
        "admin@demo.example.com",
        "Anna Nowak",
        Role.ADMIN,
        (CONSUMER_TEAM,),
        {"kettles": 6, "coffee_machines": 7, "refunds": 9, "b2b": 5},
        {"email": 8, "voice": 6, "web_chat": 7, "sms": 6, "whatsapp": 6},
        ("pl", "en"),
        4,
    ),
    DemoAgent(
        "supervisor@demo.example.com",
        "Marek Wiśniewski",
        Role.SUPERVISOR,
        (CONSUMER_TEAM, PHONE_TEAM),
        {"kettles": 7, "coffee_machines": 8, "refunds": 8, "b2b": 6},
        {"email": 7, "voice": 9, "web_chat": 6, "sms": 7, "whatsapp": 7},
        ("pl", "en", "uk"),
        6,
    ),
    DemoAgent(
        "kasia@demo.example.com",
        "Katarzyna Zielińska",
        Role.AGENT,
        (CONSUMER_TEAM,),
        {"kettles": 9, "coffee_machines": 6, "refunds": 5},
        {"email": 9, "web_chat": 8, "sms": 5, "whatsapp": 6, "voice": 4},
        ("pl", "en"),
    ),
    DemoAgent(
        "tomasz@demo.example.com",
        "Tomasz Lewandowski",
        Role.AGENT,
        (PHONE_TEAM,),
        {"kettles": 5, "coffee_machines": 9, "refunds": 6},
        {"voice": 9, "sms": 8, "whatsapp": 7, "email": 5, "web_chat": 5},
        ("pl",),
    ),
    DemoAgent(
        "olena@demo.example.com",
        "Olena Kovalenko",
        Role.AGENT,
        (CONSUMER_TEAM, PHONE_TEAM),
        {"kettles": 7, "coffee_machines": 7, "refunds": 7},
        {"web_chat": 9, "whatsapp": 9, "email": 7, "sms": 7, "voice": 6},
        ("uk", "pl", "en"),
    ),
    DemoAgent(
        "james@demo.example.com",
        "James Walker",
        Role.AGENT,
        (CONSUMER_TEAM,),
        {"kettles": 6, "coffee_machines": 8, "refunds": 6, "b2b": 4},
        {"email": 8, "web_chat": 9, "voice": 5, "sms": 4, "whatsapp": 5},
        ("en", "pl"),
    ),
    DemoAgent(
        "magda@demo.example.com",
        "Magdalena Kamińska",
        Role.AGENT,
        (B2B_TEAM,),
        {"b2b": 10, "coffee_machines": 8, "refunds": 6},
        {"email": 9, "voice": 8, "web_chat": 4, "sms": 5, "whatsapp": 5},
        ("pl", "en"),
        10,
    ),
    DemoAgent(
        "piotr@demo.example.com",
        "Piotr Dąbrowski",
        Role.AGENT,
        (B2B_TEAM, PHONE_TEAM),
        {"b2b": 8, "kettles": 6, "refunds": 7},
        {"voice": 8, "email": 7, "sms": 6, "whatsapp": 6, "web_chat": 5},
        ("pl", "uk"),
    ),
)

_PALETTE = ("#1f6feb", "#8250df", "#bf3989", "#cf222e", "#bc4c00", "#4d2d00", "#1a7f37", "#0a7e8c")


def avatar_data_url(name: str, index: int) -> str:
    """A small SVG with the agent's initials: a photo that needs no file server or network."""
    initials = "".join(part[0] for part in name.split()[:2]).upper()
    colour = _PALETTE[index % len(_PALETTE)]
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96" viewBox="0 0 96 96">'
        f'<circle cx="48" cy="48" r="48" fill="{colour}"/>'
        '<text x="48" y="60" font-family="sans-serif" font-size="36" fill="#fff" '
        f'text-anchor="middle">{initials}</text></svg>'
    )
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


# (display name, ASCII form for the email address)
FIRST_NAMES = {
    "pl": [
        ("Jan", "jan"),
        ("Agnieszka", "agnieszka"),
        ("Michał", "michal"),
        ("Ewa", "ewa"),
        ("Łukasz", "lukasz"),
        ("Zofia", "zofia"),
        ("Paweł", "pawel"),
        ("Małgorzata", "malgorzata"),
        ("Krzysztof", "krzysztof"),
        ("Joanna", "joanna"),
        ("Wojciech", "wojciech"),
        ("Barbara", "barbara"),
        ("Grzegorz", "grzegorz"),
        ("Aleksandra", "aleksandra"),
    ],
    "en": [
        ("Oliver", "oliver"),
        ("Emily", "emily"),
        ("Harry", "harry"),
        ("Sophie", "sophie"),
        ("George", "george"),
        ("Charlotte", "charlotte"),
        ("Jack", "jack"),
        ("Amelia", "amelia"),
    ],
    "uk": [
        ("Оксана", "oksana"),
        ("Андрій", "andrii"),
        ("Наталія", "nataliia"),
        ("Дмитро", "dmytro"),
        ("Ірина", "iryna"),
        ("Богдан", "bohdan"),
    ],
}
LAST_NAMES = {
    "pl": [
        ("Kowalski", "kowalski"),
        ("Wójcik", "wojcik"),
        ("Kamiński", "kaminski"),
        ("Szymańska", "szymanska"),
        ("Woźniak", "wozniak"),
        ("Kozłowska", "kozlowska"),
        ("Jankowski", "jankowski"),
        ("Mazur", "mazur"),
        ("Krawczyk", "krawczyk"),
        ("Piotrowska", "piotrowska"),
        ("Grabowski", "grabowski"),
        ("Pawlak", "pawlak"),
    ],
    "en": [
        ("Smith", "smith"),
        ("Jones", "jones"),
        ("Taylor", "taylor"),
        ("Brown", "brown"),
        ("Evans", "evans"),
        ("Wilson", "wilson"),
    ],
    "uk": [
        ("Шевченко", "shevchenko"),
        ("Бондаренко", "bondarenko"),
        ("Ткаченко", "tkachenko"),
        ("Мельник", "melnyk"),
        ("Кравчук", "kravchuk"),
    ],
}
EMAIL_DOMAINS = ("mail.example.com", "example.org", "example.net", "poczta.example.com")
COMPANIES = (
    ("Kawiarnia Poranna", "poranna-kawa.example.com"),
    ("Hotel Pod Lipami", "hotel-lipy.example.com"),
    ("Biuro Rachunkowe Suma", "suma-biuro.example.com"),
    ("Cukiernia Słodki Kąt", "slodki-kat.example.com"),
    ("Coworking Wisła", "cowisla.example.com"),
)
CITIES = {
    "pl": ("Warszawa", "Kraków", "Gdańsk", "Wrocław", "Poznań", "Łódź", "Lublin"),
    "en": ("Warszawa", "Kraków", "London", "Manchester"),
    "uk": ("Warszawa", "Wrocław", "Lviv", "Kyiv"),
}
TIERS = ("standard", "standard", "standard", "gold", "platinum")

TOPICS = ("kettles", "coffee_machines", "refunds", "b2b")

SUBJECTS = {
    "kettles": {
        "pl": "Czajnik przestał grzać",
        "en": "Kettle stopped heating",
        "uk": "Чайник перестав гріти",
    },
    "coffee_machines": {
        "pl": "Ekspres przecieka",
        "en": "Coffee machine is leaking",
        "uk": "Кавоварка протікає",
    },
    "refunds": {
        "pl": "Zwrot pieniędzy za zamówienie",
        "en": "Refund for my order",
        "uk": "Повернення коштів за замовлення",
    },
    "b2b": {
        "pl": "Oferta na ekspresy do biura",
        "en": "Quote for office coffee machines",
        "uk": "Пропозиція на кавоварки для офісу",
    },
}

OPENERS = {
    "kettles": {
        "pl": [
            "Dzień dobry, czajnik kupiony dwa tygodnie temu przestał grzać. Dioda świeci, ale woda jest zimna.",
            "Mój czajnik wyłącza się zanim woda się zagotuje. Czy to na gwarancji?",
        ],
        "en": [
            "Hello, the kettle I bought two weeks ago no longer heats. The light is on but the water stays cold.",
            "My kettle switches itself off before the water boils. Is this covered by the warranty?",
        ],
        "uk": [
            "Добрий день, чайник, куплений два тижні тому, не гріє. Індикатор світиться, а вода холодна.",
        ],
    },
    "coffee_machines": {
        "pl": [
            "Ekspres cieknie spod tacki przy każdej kawie. Co mogę zrobić?",
            "Ekspres pokazuje błąd E04 i nie mieli kawy.",
        ],
        "en": [
            "The coffee machine leaks under the drip tray with every cup. What can I do?",
            "The machine shows error E04 and will not grind beans.",
        ],
        "uk": ["Кавоварка показує помилку E04 і не меле каву."],
    },
    "refunds": {
        "pl": [
            "Zwróciłem toster 10 dni temu i nadal nie dostałem pieniędzy.",
            "Proszę o zwrot za zamówienie, paczka dotarła uszkodzona.",
        ],
        "en": [
            "I returned the toaster ten days ago and still have not been refunded.",
            "Please refund my order, the parcel arrived damaged.",
        ],
        "uk": ["Я повернув тостер десять днів тому, але гроші досі не надійшли."],
    },
    "b2b": {
        "pl": [
            "Szukamy 6 ekspresów do biura z serwisem. Prosimy o ofertę.",
            "Potrzebujemy faktury zbiorczej za zamówienia z października.",
        ],
        "en": [
            "We are looking for six office coffee machines with a service plan. Could you send a quote?",
            "We need one consolidated invoice for our October orders.",
        ],
        "uk": ["Шукаємо шість кавоварок для офісу з сервісом. Надішліть, будь ласка, пропозицію."],
    },
}

FOLLOW_UPS = {
    "pl": [
        "Przesyłam zdjęcia i numer zamówienia.",
        "Czy jest już coś wiadomo w mojej sprawie?",
        "Dziękuję, to pomogło.",
        "Czy mogę odebrać urządzenie w sklepie?",
    ],
    "en": [
        "Sending photos and the order number.",
        "Is there any news on my case?",
        "Thank you, that helped.",
        "Can I pick the device up in the shop?",
    ],
    "uk": [
        "Надсилаю фото та номер замовлення.",
        "Чи є новини щодо моєї справи?",
        "Дякую, це допомогло.",
    ],
}

AGENT_REPLIES = {
    "pl": [
        "Dziękuję za zgłoszenie. Sprawdzam zamówienie i wracam z odpowiedzią jeszcze dziś.",
        "Przygotowałam etykietę zwrotną, kurier odbierze paczkę jutro.",
        "Urządzenie jest na gwarancji, wymienimy je na nowe.",
        "Zwrot został zlecony, pieniądze będą na koncie w ciągu 3 dni roboczych.",
    ],
    "en": [
        "Thank you for letting us know. I am checking your order and will get back to you today.",
        "I have prepared a return label; the courier will collect the parcel tomorrow.",
        "The device is under warranty, so we will replace it with a new one.",
        "The refund has been issued and should reach your account within 3 working days.",
    ],
    "uk": [
        "Дякую за звернення. Перевіряю замовлення і сьогодні ж відповім.",
        "Пристрій на гарантії, ми замінимо його на новий.",
        "Повернення коштів оформлено, гроші надійдуть протягом 3 робочих днів.",
    ],
}

CALL_TRANSCRIPTS = {
    "answered": "Phone call: the customer described the problem; agreed next steps.",
    "missed": "Missed call.",
    "voicemail": "Voicemail: the customer asks to be called back.",
}

WRAP_UP_CODES = {
    "kettles": ("warranty_replacement", "troubleshooting_solved", "repair_booked"),
    "coffee_machines": ("descaling_advice", "repair_booked", "warranty_replacement"),
    "refunds": ("refund_issued", "refund_declined", "return_label_sent"),
    "b2b": ("quote_sent", "invoice_corrected", "order_placed"),
}

OFFERS = {
    "kettles": (("Descaler 3-pack", "39.00"), ("Glass kettle Aura 1.7 l", "189.00")),
    "coffee_machines": (("Service plan 24 months", "249.00"), ("Milk frother Cremo", "159.00")),
    "refunds": (("Voucher for the next order", "50.00"),),
    "b2b": (("Office bundle: 6 machines + service", "11400.00"), ("Coffee beans 20 kg", "1290.00")),
}

LABELS = {
    "warranty": "#1a7f37",
    "urgent": "#cf222e",
    "vip": "#8250df",
    "follow-up": "#bc4c00",
    "complaint": "#bf3989",
    "b2b": "#0a7e8c",
}

NOTES = (
    "Has four children; prefers calls after 17:00.",
    "Prefers SMS over phone calls.",
    "Long-time customer, bought three coffee machines.",
    "Ask for the order number first; often orders from several accounts.",
    "Speaks Ukrainian and Polish.",
)
