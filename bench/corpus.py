"""A synthetic news corpus for the pipeline benchmark: feeds, article pages, a catalog.

Usage::

    python bench/corpus.py OUT_DIR [--sources 20] [--entries 100] [--seed 8]

writes ``OUT_DIR`` with:

- ``feeds/s000.xml`` (RSS 2.0) or ``feeds/s001.atom`` (Atom 1.0), alternating: one feed per
  source, ``--entries`` items each, newest first;
- ``s000/2026/<slug>.html``: one article page per item, 15-40 KB like a real news page: a
  ``<head>`` with meta tags, JSON-LD and inline scripts, a header with a navigation bar, the
  article (headline, byline, time, 5-12 paragraphs, a figure with caption, tags), a
  "related stories" list and a "most read" list of other headlines, a newsletter box, a
  footer with some fifty links, and analytics/ad scripts at the end;
- ``robots.txt`` (everything allowed) and ``catalog.toml``, the ``[[source]]`` catalog with
  ``__BASE_URL__`` in every URL (bench/server.py replaces it with its own address).

Sources cycle through English, Japanese and Russian. The text is generated from word lists
and sentence templates per language (no model, no downloads): about ``relevant_share`` of the
items are about Japan-Russia relations (their titles and bodies name both countries, the
Kurils, a peace treaty, ...), the rest are domestic, sports, weather or business news, some of
them traps that name one country or a homonym. Most sentences carry the story's own
facts (made-up names and figures), as real stories do: without them, unrelated stories
shared so many word shingles that they fell into one story cluster. A share of the
items are **duplicates** (an entry in another source's feed linking to the same page, as
aggregators do) and
**syndicated copies** (a wire story republished on another outlet's site under its own URL
and headline, body mostly the same: one more sentence, one paragraph dropped), so URL
dedup and story clustering have work. Everything derives from ``--seed``: the same
arguments write byte-identical files (dates are relative to a fixed ``--now``).

``generate()`` returns a `Manifest` with the counts the benchmark reports.
"""

from __future__ import annotations

import argparse
import html
import json
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

PLACEHOLDER = "__BASE_URL__"
LANGUAGES = ("en", "ja", "ru")
DEFAULT_NOW = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)

# ----------------------------------------------------------------------------- words

_EN = {
    "outlets": ["Pacific Ledger", "Northern Courier", "Harbour Times", "Continental Wire",
                "Evening Dispatch", "Morning Standard", "Global Observer", "Coastal Herald"],
    "people": ["Sergei Lavrov", "the Japanese foreign minister", "Russia's ambassador to Tokyo",
               "the chief cabinet secretary", "a Kremlin spokesman", "Japan's prime minister",
               "Vladimir Putin", "a senior Japanese diplomat"],
    "bilateral": ["the Kuril Islands", "the Northern Territories", "a peace treaty with Japan",
                  "Japan-Russia relations", "the Southern Kurils", "Sakhalin-2 LNG supplies",
                  "fishing rights near Kunashir", "visa-free exchanges with the Kurils"],
    "verbs": ["discussed", "raised concerns about", "called for progress on", "rejected talks on",
              "signalled flexibility over", "reviewed", "warned about", "welcomed steps on"],
    "places": ["in Tokyo", "in Moscow", "in Vladivostok", "in Sapporo", "on Sakhalin",
               "at the United Nations", "in Nemuro", "during a phone call"],
    "filler": ["Officials said the talks would continue next month",
               "Analysts expect little change before the spring",
               "The statement gave no further details",
               "Both sides described the meeting as frank",
               "The ministry published a summary on its website",
               "Fishermen in the region have waited for an agreement for years",
               "Energy companies are watching the negotiations closely",
               "Opposition lawmakers criticised the government's approach",
               "Trade between the two countries fell sharply last year",
               "The talks were held behind closed doors"],
    "topics": ["the city council", "the regional railway", "a local football club",
               "the central bank", "a new electric car", "the school board", "a heatwave",
               "the film festival", "a chip maker", "the national orchestra"],
    "tverbs": ["announced plans for", "reported record results for", "delayed a decision on",
               "opened a debate on", "won praise for", "cut the budget of"],
    "tfiller": ["Residents welcomed the news", "The decision is expected next week",
                "Ticket sales rose by a third", "Shares closed higher on the day",
                "Forecasters expect rain over the weekend", "The mayor declined to comment",
                "Critics say the plan is too expensive", "The season starts in March"],
    "traps": ["Medvedev wins the final of a tennis tournament in Tokyo",
              "Russian ballet returns to the stage in London",
              "Japanese chef opens a restaurant in Paris",
              "Northern Territory of Australia braces for floods"],
    "nav": ["Home", "World", "Asia-Pacific", "Europe", "Politics", "Business", "Markets",
            "Energy", "Technology", "Science", "Sport", "Culture", "Opinion", "Video"],
    "related": "Related stories", "most_read": "Most read", "by": "By",
    "newsletter": "Get the morning briefing in your inbox", "subscribe": "Subscribe",
    "footer": ["About us", "Contact", "Careers", "Advertise", "Terms of use",
               "Privacy policy", "Cookie settings", "Corrections", "Newsletters", "Archive"],
    "caption": "Delegations at the start of the talks. Photo: staff photographer",
}
_JA = {
    "outlets": ["北海新報", "東洋通信", "極東日報", "港町タイムズ", "列島ニュース", "北方経済新聞"],
    "people": ["ラブロフ外相", "日本の外相", "駐日ロシア大使", "官房長官", "ロシア大統領府報道官",
               "首相", "プーチン大統領", "外務省幹部"],
    "bilateral": ["北方領土問題", "日露平和条約交渉", "日露関係", "北方四島の返還",
                  "サハリン2のLNG供給", "国後島周辺の漁業", "北方領土へのビザなし交流",
                  "千島列島の領有権"],
    "verbs": ["について協議した", "に懸念を示した", "の進展を求めた", "を議題にした",
              "で柔軟な姿勢を示した", "を確認した", "について警告した", "を歓迎した"],
    "places": ["東京で", "モスクワで", "ウラジオストクで", "札幌で", "サハリンで", "国連で",
               "根室で", "電話会談で"],
    "filler": ["関係者によると、協議は来月も続く見通しだ。",
               "専門家は春までに大きな変化はないとみている。",
               "声明はそれ以上の詳細に触れなかった。",
               "双方は会談を率直なものだったと説明した。",
               "外務省はウェブサイトに概要を掲載した。",
               "地元の漁業者は長年、合意を待ち望んできた。",
               "エネルギー企業は交渉の行方を注視している。",
               "野党議員は政府の対応を批判した。"],
    "topics": ["市議会", "地方鉄道", "地元のサッカークラブ", "日本銀行", "新型の電気自動車",
               "教育委員会", "猛暑", "映画祭", "半導体メーカー", "交響楽団"],
    "tverbs": ["の計画を発表した", "の過去最高の業績を報告した", "の判断を先送りした",
               "について議論を始めた", "が高い評価を受けた", "の予算を削減した"],
    "tfiller": ["住民はこの知らせを歓迎した。", "決定は来週の見通しだ。",
                "チケットの売り上げは3割伸びた。", "株価はこの日、上昇して取引を終えた。",
                "週末は雨の予報だ。", "市長はコメントを控えた。"],
    "traps": ["北方謙三さんが新作小説を発表", "ロシア料理店が札幌に開店", "北海道の露天風呂が人気",
              "日本代表がモスクワ出身の監督を招へい"],
    "nav": ["トップ", "国際", "政治", "経済", "社会", "スポーツ", "文化", "科学", "地域",
            "オピニオン"],
    "related": "関連記事", "most_read": "よく読まれている記事", "by": "記者",
    "newsletter": "朝のニュースをメールでお届けします", "subscribe": "登録する",
    "footer": ["会社案内", "お問い合わせ", "採用情報", "広告掲載", "利用規約", "個人情報保護方針",
               "著作権", "訂正", "ニュースレター", "過去記事"],
    "caption": "会談に臨む両国の代表団＝写真・本社写真部",
}
_RU = {
    "outlets": ["Восточный вестник", "Тихоокеанская газета", "Северный курьер",
                "Новости Приморья", "Дальневосточное обозрение", "Сахалинский экспресс"],
    "people": ["Сергей Лавров", "министр иностранных дел Японии", "посол Японии в Москве",
               "пресс-секретарь Кремля", "премьер-министр Японии", "Владимир Путин",
               "японский дипломат", "глава МИД России"],
    "bilateral": ["Курильские острова", "мирный договор с Японией", "российско-японские отношения",
                  "южные Курилы", "поставки СПГ с Сахалина в Японию", "рыболовство у Кунашира",
                  "безвизовые обмены с Японией", "переговоры Москвы и Токио"],
    "verbs": ["обсудил", "выразил обеспокоенность темой", "призвал к прогрессу по теме",
              "отверг переговоры по теме", "проявил гибкость в вопросе", "рассмотрел",
              "предупредил о последствиях темы", "приветствовал шаги по теме"],
    "places": ["в Токио", "в Москве", "во Владивостоке", "в Саппоро", "на Сахалине",
               "в ООН", "в Немуро", "в ходе телефонного разговора"],
    "filler": ["Переговоры продолжатся в следующем месяце, сообщили чиновники",
               "Эксперты не ожидают перемен до весны",
               "Других подробностей в заявлении не приводится",
               "Стороны назвали встречу откровенной",
               "Министерство опубликовало итоги на своём сайте",
               "Рыбаки региона годами ждут соглашения",
               "Энергетические компании внимательно следят за переговорами",
               "Оппозиция раскритиковала подход правительства"],
    "topics": ["городская дума", "региональная железная дорога", "местный футбольный клуб",
               "Центробанк", "новый электромобиль", "школьный совет", "аномальная жара",
               "кинофестиваль", "производитель микросхем", "симфонический оркестр"],
    "tverbs": ["объявила о планах", "сообщила о рекордных результатах",
               "отложила решение", "начала обсуждение", "получила высокую оценку",
               "сократила бюджет"],
    "tfiller": ["Жители приветствовали новость", "Решение ожидается на следующей неделе",
                "Продажи билетов выросли на треть", "Акции закрылись ростом",
                "Синоптики обещают дождь на выходных", "Мэр отказался от комментариев"],
    "traps": ["Премьера «Вишнёвого сада» в Москве", "Японская кухня набирает популярность в Казани",
              "Сборная России по хоккею обыграла Финляндию", "Курс рубля укрепился к доллару"],
    "nav": ["Главная", "Политика", "Экономика", "Общество", "В мире", "Спорт", "Культура",
            "Наука", "Регионы", "Мнения"],
    "related": "Читайте также", "most_read": "Самое читаемое", "by": "Автор",
    "newsletter": "Главные новости дня — в вашей почте", "subscribe": "Подписаться",
    "footer": ["О редакции", "Контакты", "Вакансии", "Реклама", "Правила", "Конфиденциальность",
               "Настройки cookie", "Исправления", "Рассылки", "Архив"],
    "caption": "Делегации перед началом переговоров. Фото: пресс-служба",
}
WORDS: dict[str, dict[str, Any]] = {"en": _EN, "ja": _JA, "ru": _RU}
# Made-up names are strings of these; detail sentences put them and figures in templates.
_SYLLABLES = {
    "en": ["ka", "ro", "mi", "ten", "bar", "lo", "ves", "din", "sha", "kor", "pel", "un",
           "tra", "gan", "el", "mor", "ist", "by", "wen", "do", "qua", "ril", "fo", "zet"],
    "ja": list("アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨ"
               "ラリルレロワンガギグゲゴザジズゼゾダデドバビブベボパピプペポ"),
    "ru": ["ка", "ро", "ми", "тен", "бар", "ло", "вес", "дин", "ша", "кор", "пел", "ун",
           "тра", "ган", "ель", "мор", "ист", "бы", "вен", "до", "ква", "рил", "фо", "зет"],
}
_DETAILS = {
    "en": ["{a} Holdings, which employs {n} people in {b}, said sales rose {m} percent.",
           "The mayor of {a}, {b} {c}, met {m} delegates on the {d}th.",
           "{a} {b} told reporters that {n} tonnes had been shipped from {c} since May.",
           "A survey by the {a} Institute found {m} percent of residents of {b} agreed.",
           "Police in {a} said {m} people were questioned after the incident on {b} Street.",
           "{a} Bank lent {n} million yen to {b} Logistics, according to filings dated the "
           "{d}th."],
    "ja": ["{a}社の{b}社長は{d}日、売上高が{m}％増えたと明らかにした。",
           "{a}市の{b}市長は{d}日、{m}人の代表団と面会した。",
           "{a}{b}氏によると、{c}港からは5月以降{n}トンが出荷された。",
           "{a}研究所の調査では、{b}町の住民の{m}％が賛成と答えた。",
           "{a}署は{d}日、{b}通りの事件で{m}人から事情を聴いた。",
           "{a}銀行は{b}物流に{n}億円を融資したと届け出た。"],
    "ru": ["Компания «{a}», в которой работают {n} человек в городе {b}, сообщила о росте "
           "продаж на {m}%.",
           "Мэр города {a} {b} {c} {d} числа встретился с {m} делегатами.",
           "По словам {a} {b}, с мая из порта {c} отгружено {n} тонн.",
           "Опрос института «{a}» показал, что {m}% жителей села {b} согласны.",
           "Полиция города {a} опросила {m} человек после происшествия на улице {b}.",
           "Банк «{a}» выдал компании «{b}» кредит на {n} млн рублей, следует из отчётности "
           "от {d} числа."],
}
AUTHORS = {
    "en": ["Emma Hartley", "James Okafor", "Laura Chen", "Hiroshi Kaneda", "Anna Petrova"],
    "ja": ["佐藤健", "鈴木真理子", "高橋一郎", "田中由美", "伊藤誠"],
    "ru": ["Ирина Смирнова", "Алексей Волков", "Мария Кузнецова", "Дмитрий Орлов"],
}

# ~3 KB of script a page carries in its head and ~4 KB at its end, as news sites do.
_HEAD_SCRIPT = (
    "window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}"
    "gtag('js',new Date());gtag('config','G-BENCH{n}',{anonymize_ip:true});"
    "(function(w,d,s,l,i){{w[l]=w[l]||[];w[l].push({{'gtm.start':new Date().getTime(),"
    "event:'gtm.js'}});var f=d.getElementsByTagName(s)[0],j=d.createElement(s);j.async=true;"
    "j.src='https://tags.example.invalid/gtm.js?id='+i;f.parentNode.insertBefore(j,f);}})"
    "(window,document,'script','dataLayer','GTM-BENCH');"
)
_TAIL_SCRIPT = (
    "var adSlots=[];for(var i=0;i<{n};i++){{adSlots.push({{id:'ad-'+i,sizes:[[300,250],"
    "[728,90]],targeting:{{section:'{section}',position:i}}}});}}"
    "function lazyLoad(){{document.querySelectorAll('img[data-src]').forEach(function(img)"
    "{{if(img.getBoundingClientRect().top<window.innerHeight*2){{img.src=img.dataset.src;"
    "img.removeAttribute('data-src');}}}});}}window.addEventListener('scroll',lazyLoad);"
)


@dataclass
class Item:
    """One feed entry and (unless it links elsewhere) its page."""

    source: int
    index: int
    language: str
    title: str
    summary: str
    paragraphs: list[str]
    path: str  # page path on the server, no leading slash
    guid: str
    published: datetime
    author: str
    relevant: bool
    kind: str = "original"  # original | duplicate (links to another page) | syndicated
    origin: str | None = None  # path of the page a duplicate/syndicated copy comes from


@dataclass
class Manifest:
    """What was written: counts the benchmark reports next to its timings."""

    sources: int
    entries_per_feed: int
    entries: int = 0
    pages: int = 0
    relevant: int = 0
    duplicates: int = 0
    syndicated: int = 0
    feed_bytes: int = 0
    page_bytes: int = 0
    languages: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class _Text:
    """Sentence and paragraph generator for one language."""

    def __init__(self, language: str, rng: random.Random) -> None:
        self.lang = language
        self.w = WORDS[language]
        self.rng = rng

    def _pick(self, key: str) -> str:
        return str(self.rng.choice(self.w[key]))

    def relevant_sentence(self) -> str:
        who, verb, what, where = (self._pick("people"), self._pick("verbs"),
                                  self._pick("bilateral"), self._pick("places"))
        if self.lang == "ja":
            return f"{who}は{where}{what}{verb}。"
        return f"{who[0].upper()}{who[1:]} {verb} {what} {where}."

    def topic_sentence(self) -> str:
        topic, verb = self._pick("topics"), self._pick("tverbs")
        if self.lang == "ja":
            return f"{topic}{verb}。"
        return f"{topic[0].upper()}{topic[1:]} {verb} {self._pick('topics')}."

    def _name(self) -> str:
        """A made-up proper noun (a person, company or town no other story names)."""
        parts = _SYLLABLES[self.lang]
        word = "".join(self.rng.choice(parts) for _ in range(self.rng.randint(2, 4)))
        return word if self.lang == "ja" else word.capitalize()

    def detail_sentence(self) -> str:
        """A sentence of this story's own facts: names and figures no other story shares.

        Real stories differ mostly in such facts; without them, unrelated synthetic stories
        share most of their word shingles and cluster together (see docs/benchmarks.md).
        """
        template = self.rng.choice(_DETAILS[self.lang])
        return template.format(a=self._name(), b=self._name(), c=self._name(),
                               n=self.rng.randint(2, 9999), m=self.rng.randint(2, 99),
                               d=self.rng.randint(1, 28))

    def filler(self, relevant: bool) -> str:
        text = self._pick("filler" if relevant else "tfiller")
        return text if self.lang == "ja" else text + "."

    def paragraph(self, relevant: bool) -> str:
        sentences = []
        for _ in range(self.rng.randint(3, 6)):
            roll = self.rng.random()
            if relevant and roll < 0.3:
                sentences.append(self.relevant_sentence())
            elif roll < 0.4:
                sentences.append(self.topic_sentence())
            elif roll < 0.9:
                sentences.append(self.detail_sentence())
            else:
                sentences.append(self.filler(relevant))
        return ("" if self.lang == "ja" else " ").join(sentences)

    def title(self, relevant: bool, trap: bool) -> str:
        if trap:
            return self._pick("traps")
        if relevant:
            who, what = self._pick("people"), self._pick("bilateral")
            if self.lang == "ja":
                return f"{who}、{what}{self._pick('verbs')}"
            return f"{who[0].upper()}{who[1:]} {self._pick('verbs')} {what}"
        topic = self._pick("topics")
        if self.lang == "ja":
            return f"{topic}{self._pick('tverbs')}"
        return f"{topic[0].upper()}{topic[1:]} {self._pick('tverbs')} {self._pick('topics')}"


def _slug(source: int, index: int, rng: random.Random) -> str:
    words = ["talks", "islands", "treaty", "energy", "fishing", "trade", "council", "match",
             "weather", "market", "culture", "visit", "border", "summit", "report"]
    return f"{rng.choice(words)}-{rng.choice(words)}-{source:03d}{index:04d}"


def build_items(
    sources: int, entries: int, seed: int = 8, now: datetime = DEFAULT_NOW,
    relevant_share: float = 0.35, duplicate_share: float = 0.06,
    syndicated_share: float = 0.08, trap_share: float = 0.05,
) -> list[list[Item]]:
    """The corpus as data: one list of items per source, newest first."""
    rng = random.Random(seed)
    feeds: list[list[Item]] = []
    for s in range(sources):
        language = LANGUAGES[s % len(LANGUAGES)]
        gen = _Text(language, rng)
        items = []
        for i in range(entries):
            roll = rng.random()
            relevant = roll < relevant_share
            trap = not relevant and roll < relevant_share + trap_share
            paragraphs = [gen.paragraph(relevant) for _ in range(rng.randint(5, 12))]
            title = gen.title(relevant, trap)
            summary = (gen.relevant_sentence() + " " if relevant else "") + gen.filler(relevant)
            items.append(Item(
                source=s, index=i, language=language, title=title, summary=summary,
                paragraphs=paragraphs, path=f"s{s:03d}/2026/{_slug(s, i, rng)}.html",
                guid=f"bench-{s:03d}-{i:05d}",
                published=now - timedelta(minutes=17 * i + 3 * s),
                author=rng.choice(AUTHORS[language]), relevant=relevant,
            ))
        feeds.append(items)
    # Copies across sources of the same language: aggregator duplicates (same page) and
    # syndicated wire copies (own page, own headline, body lightly edited).
    roles = {(s, i): ("duplicate" if r < duplicate_share else "syndicated")
             for s in range(sources) for i in range(entries)
             if (r := rng.random()) < duplicate_share + syndicated_share}
    for (s, i), role in sorted(roles.items()):
        peers = [p for p in range(sources) if p != s and p % 3 == s % 3]
        if not peers:
            continue
        pool = [it for it in feeds[rng.choice(peers)] if (it.source, it.index) not in roles]
        if not pool:
            continue
        item, origin = feeds[s][i], rng.choice(pool)
        item.relevant, item.origin, item.summary = origin.relevant, origin.path, origin.summary
        if role == "duplicate":
            item.kind, item.title, item.paragraphs = "duplicate", origin.title, []
        else:
            gen = _Text(item.language, rng)
            body = list(origin.paragraphs)
            if len(body) > 5:
                del body[rng.randrange(1, len(body))]
            body.append(gen.filler(origin.relevant))
            item.kind, item.paragraphs = "syndicated", body
            item.title = origin.title + (" (wire)" if item.language != "ja" else "（共同）")
    return feeds


def _page(item: Item, outlet: str, related: Sequence[Item]) -> str:
    w = WORDS[item.language]
    e = html.escape
    url = f"{PLACEHOLDER}/{item.path}"
    iso = item.published.isoformat()
    ld = json.dumps({
        "@context": "https://schema.org", "@type": "NewsArticle", "headline": item.title,
        "datePublished": iso, "dateModified": iso, "inLanguage": item.language,
        "author": [{"@type": "Person", "name": item.author}],
        "publisher": {"@type": "Organization", "name": outlet},
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "image": [f"{PLACEHOLDER}/img/{item.guid}.jpg"],
    }, ensure_ascii=False, indent=1)
    section = f"s{item.source:03d}"
    nav = "\n".join(f'      <li><a href="{PLACEHOLDER}/{section}/{k}/">{e(name)}</a></li>'
                    for k, name in enumerate(w["nav"]))
    rel = "\n".join(
        f'      <li><a href="{PLACEHOLDER}/{r.path}"><img src="{PLACEHOLDER}/img/t{k}.jpg" '
        f'alt="" width="120" height="80" loading="lazy"><span>{e(r.title)}</span></a></li>'
        for k, r in enumerate(related[:8]))
    most = "\n".join(f'      <li><span class="rank">{k + 1}</span><a href="{PLACEHOLDER}/'
                     f'{r.path}">{e(r.title)}</a></li>' for k, r in enumerate(related[8:18]))
    footer = "\n".join(
        f'        <li><a href="{PLACEHOLDER}/{section}/info/{k}-{j}">{e(name)}</a></li>'
        for j in range(5) for k, name in enumerate(w["footer"]))
    body = "\n".join(f"      <p>{e(p)}</p>" for p in item.paragraphs[:3])
    rest = "\n".join(f"      <p>{e(p)}</p>" for p in item.paragraphs[3:])
    tags = "".join(f'<li><a href="{PLACEHOLDER}/tag/{k}">{e(t)}</a></li>'
                   for k, t in enumerate(w["nav"][2:5]))
    return f"""<!DOCTYPE html>
<html lang="{item.language}">
<head>
  <meta charset="utf-8">
  <title>{e(item.title)} | {e(outlet)}</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <link rel="canonical" href="{url}">
  <meta name="description" content="{e(item.summary)}">
  <meta name="author" content="{e(item.author)}">
  <meta property="og:type" content="article">
  <meta property="og:site_name" content="{e(outlet)}">
  <meta property="og:title" content="{e(item.title)}">
  <meta property="og:url" content="{url}">
  <meta property="og:image" content="{PLACEHOLDER}/img/{item.guid}.jpg">
  <meta property="article:published_time" content="{iso}">
  <link rel="stylesheet" href="{PLACEHOLDER}/static/site.css">
  <link rel="preload" href="{PLACEHOLDER}/static/font.woff2" as="font" crossorigin>
  <script type="application/ld+json">
{ld}
  </script>
  <script>{_HEAD_SCRIPT.replace("{n}", str(item.source))}</script>
  <script>{_HEAD_SCRIPT.replace("{n}", "X" + str(item.index)) * 4}</script>
  <style>body{{font-family:Georgia,serif;margin:0}}.site-header{{display:flex;gap:1rem}}
  .main-nav ul{{list-style:none;display:flex}}.related li{{display:flex;gap:.5rem}}
  .ad{{min-height:250px;background:#f4f4f4}}footer{{background:#222;color:#eee}}</style>
</head>
<body>
  <a class="skip-link" href="#main">Skip to main content</a>
  <div class="ad ad-top" id="ad-top" data-slot="top"></div>
  <header class="site-header">
    <a class="logo" href="{PLACEHOLDER}/{section}/">{e(outlet)}</a>
    <button type="button" class="menu-toggle">Menu</button>
    <form class="search" action="{PLACEHOLDER}/search"><input type="search" name="q"></form>
    <nav class="main-nav">
    <ul>
{nav}
    </ul>
    </nav>
  </header>
  <main id="main">
    <article class="story">
      <h1>{e(item.title)}</h1>
      <div class="byline">{e(w["by"])}
        <a rel="author" href="{PLACEHOLDER}/authors/{item.source}">{e(item.author)}</a>
        <time datetime="{iso}">{item.published:%Y-%m-%d %H:%M}</time></div>
      <figure><img src="{PLACEHOLDER}/img/{item.guid}.jpg" alt="" width="800" height="450">
        <figcaption>{e(w["caption"])}</figcaption></figure>
{body}
      <div class="ad ad-inline" data-slot="inline-1"></div>
{rest}
      <ul class="tags">{tags}</ul>
      <div class="share"><a href="#">Share</a> <a href="#">Tweet</a> <a href="#">Email</a></div>
    </article>
    <aside class="related">
      <h2>{e(w["related"])}</h2>
      <ul>
{rel}
      </ul>
    </aside>
    <aside class="most-read">
      <h2>{e(w["most_read"])}</h2>
      <ol>
{most}
      </ol>
    </aside>
    <section class="newsletter"><h2>{e(w["newsletter"])}</h2>
      <form action="{PLACEHOLDER}/newsletter"><input type="email" name="email">
      <button>{e(w["subscribe"])}</button></form></section>
  </main>
  <footer class="site-footer">
    <nav><ul>
{footer}
    </ul></nav>
    <p>&copy; 2026 {e(outlet)}. All rights reserved.</p>
  </footer>
  <script>{_TAIL_SCRIPT.format(n=item.index % 7 + 3, section=section) * 5}</script>
  <script async src="{PLACEHOLDER}/static/app.js"></script>
</body>
</html>
"""


def _rss(items: Sequence[Item], outlet: str, language: str, feed_path: str) -> str:
    e = html.escape
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:atom="http://www.w3.org/2005/Atom">',
        "<channel>",
        f"  <title>{e(outlet)}</title>",
        f"  <link>{PLACEHOLDER}/</link>",
        f'  <atom:link href="{PLACEHOLDER}/{feed_path}" rel="self" type="application/rss+xml"/>',
        f"  <description>Latest news from {e(outlet)}</description>",
        f"  <language>{language}</language>",
        f"  <lastBuildDate>{format_datetime(items[0].published)}</lastBuildDate>"
        if items else "",
    ]
    for it in items:
        link = f"{PLACEHOLDER}/{it.origin if it.kind == 'duplicate' else it.path}"
        out += [
            "  <item>",
            f"    <title>{e(it.title)}</title>",
            f"    <link>{e(link)}?utm_source=rss&amp;utm_medium=feed</link>",
            f'    <guid isPermaLink="false">{it.guid}</guid>',
            f"    <pubDate>{format_datetime(it.published)}</pubDate>",
            f"    <dc:creator>{e(it.author)}</dc:creator>",
            f"    <description>{e(it.summary)}</description>",
            "  </item>",
        ]
    out += ["</channel>", "</rss>", ""]
    return "\n".join(out)


def _atom(items: Sequence[Item], outlet: str, language: str, feed_path: str) -> str:
    e = html.escape
    updated = items[0].published.isoformat() if items else DEFAULT_NOW.isoformat()
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{language}">',
        f"  <title>{e(outlet)}</title>",
        f'  <link rel="self" href="{PLACEHOLDER}/{feed_path}"/>',
        f'  <link href="{PLACEHOLDER}/"/>',
        f"  <id>urn:bench:{e(feed_path)}</id>",
        f"  <updated>{updated}</updated>",
    ]
    for it in items:
        link = f"{PLACEHOLDER}/{it.origin if it.kind == 'duplicate' else it.path}"
        out += [
            "  <entry>",
            f"    <title>{e(it.title)}</title>",
            f'    <link rel="alternate" href="{e(link)}"/>',
            f"    <id>urn:bench:{it.guid}</id>",
            f"    <updated>{it.published.isoformat()}</updated>",
            f"    <published>{it.published.isoformat()}</published>",
            f"    <author><name>{e(it.author)}</name></author>",
            f'    <summary type="html">{e(it.summary)}</summary>',
            "  </entry>",
        ]
    out += ["</feed>", ""]
    return "\n".join(out)


def feed_path(source: int) -> str:
    return f"feeds/s{source:03d}.{'xml' if source % 2 == 0 else 'atom'}"


def outlet_name(source: int, language: str) -> str:
    names = WORDS[language]["outlets"]
    return f"{names[source // 3 % len(names)]} {source:03d}"


def generate(
    root: Path, sources: int = 20, entries: int = 100, *, seed: int = 8,
    now: datetime = DEFAULT_NOW, **shares: Any,
) -> Manifest:
    """Write the corpus under `root` (created); returns what was written."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "feeds").mkdir(exist_ok=True)
    feeds = build_items(sources, entries, seed, now, **shares)
    manifest = Manifest(sources=sources, entries_per_feed=entries)
    rng = random.Random(seed + 1)
    catalog = ["# Benchmark catalog written by bench/corpus.py: __BASE_URL__ is the server.", ""]
    for s, items in enumerate(feeds):
        language = LANGUAGES[s % len(LANGUAGES)]
        outlet = outlet_name(s, language)
        for k, it in enumerate(items):
            manifest.entries += 1
            manifest.relevant += it.relevant
            manifest.duplicates += it.kind == "duplicate"
            manifest.syndicated += it.kind == "syndicated"
            manifest.languages[language] = manifest.languages.get(language, 0) + 1
            if it.kind == "duplicate":
                continue
            others = [items[j] for j in rng.sample(range(len(items)), min(18, len(items)))
                      if j != k]
            page = _page(it, outlet, others).encode("utf-8")
            target = root / it.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(page)
            manifest.pages += 1
            manifest.page_bytes += len(page)
        path = feed_path(s)
        writer = _rss if path.endswith(".xml") else _atom
        data = writer(items, outlet, language, path).encode("utf-8")
        (root / path).write_bytes(data)
        manifest.feed_bytes += len(data)
        catalog += ["[[source]]", f'name = "{outlet}"', f'url = "{PLACEHOLDER}/{path}"',
                    f'language = "{language}"', 'kind = "rss"', f'outlet = "{outlet}"', ""]
    (root / "catalog.toml").write_text("\n".join(catalog), "utf-8")
    (root / "robots.txt").write_text("User-agent: *\nAllow: /\n", "utf-8")
    (root / "manifest.json").write_text(json.dumps(manifest.as_dict(), indent=1), "utf-8")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--sources", type=int, default=20)
    parser.add_argument("--entries", type=int, default=100)
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args(argv)
    manifest = generate(args.out, args.sources, args.entries, seed=args.seed)
    print(json.dumps(manifest.as_dict(), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
