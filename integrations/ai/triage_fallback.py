"""Triage without a model: what a new ticket gets when no model answers (no key, the model down,
the day's budget spent). Deterministic, fast and pure: no I/O, no downloaded data.

`triage(text)` returns the same `Triage` the model-backed triage returns (the class is also the
JSON schema the model answers with): a category from the team's list, a priority, a sentiment,
each with a confidence in [0, 1], the language the caller detected, and a one-line title.

How it reads a message: as a person sees it (NFKC, invisible characters and Discord markup
removed), in lower case without accents, so "Rückerstattung", "ruckerstattung" and the word in
full-width capitals are one. Keywords match whole words ("bill" is not in "billion"); a keyword
ending in `*` matches any word it starts ("refund*": refunds, refunded), an apostrophe may be
left out ("can't", "cant"), and words in scripts written without spaces (Chinese, Japanese)
match anywhere.

- Category: each category scores the distinct keywords found in the message (a phrase counts
  more than a word); the best wins, ties going to the keyword met first. The confidence grows
  with the score and the margin over the runner-up. No keyword at all: `OTHER`, at low confidence.
- Priority: "urgent" for outage and fraud cues ("all our users", "site is down", "hacked"),
  "high" for urgency cues ("asap", "dringend", "charged twice", "can't log in at all"), "low"
  for "no rush" and the like (looked for first, so "not urgent" is not "urgent"), else "normal".
- Sentiment: the customer's tone, from a small multilingual lexicon; a positive word after a
  negation ("not happy", "nicht zufrieden") counts as negative; thanks count half (most are
  politeness); "!!!" and shouting in capitals count as negative unless beside praise.
- Title: the first sentence, less greetings ("Hi team,") and markup, cut at a word to 80 chars.

What it cannot do: understand. A keyword in passing ("my order arrived fine but the invoice...")
counts like the topic, urgency or anger without a cue word ("need it before Saturday", "3 weeks
and no refund") goes unseen, irony reads literally, and languages whose keywords are not listed
(beyond en, de, fr, es, pt, it, nl, pl, ru, ja, zh) land in `OTHER`. `bench/bench_ai.py` measures
it on labelled messages; it takes about 0.2 ms a message.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.core.text_seen import invisible

__all__ = [
    "DEFAULT_CATEGORIES",
    "OTHER",
    "TITLE_LENGTH",
    "Category",
    "Triage",
    "as_read",
    "shown",
    "title_of",
    "triage",
]

log = logging.getLogger(__name__)

OTHER = "Other"
"""The category of a message that matches no keyword."""

TITLE_LENGTH = 80
"""A title's longest length, in characters."""

Priority = Literal["low", "normal", "high", "urgent"]
Sentiment = Literal["negative", "neutral", "positive"]
Confidence = Annotated[float, Field(ge=0.0, le=1.0)]


class Triage(BaseModel):
    """A new ticket's triage: the fallback's result, and the JSON schema a model answers with."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    category: str = Field(min_length=1, max_length=80, description="One of the team's categories")
    category_confidence: Confidence
    priority: Priority
    priority_confidence: Confidence
    sentiment: Sentiment = Field(description="The customer's tone, not the topic")
    sentiment_confidence: Confidence
    language: str | None = Field(description="ISO 639-1 code of the message, null if unknown")
    title: str = Field(min_length=1, max_length=TITLE_LENGTH, description="One line, no greeting")


@dataclass(frozen=True, slots=True)
class Category:
    """One of the team's categories and the words that point to it (the syntax is in the
    module's doc); a category without keywords is only ever chosen by a model."""

    name: str
    keywords: tuple[str, ...] = ()


def _words(text: str) -> tuple[str, ...]:
    """Keywords separated by commas or line breaks (a line or two per language)."""
    return tuple(word.strip() for word in re.split(r"[,\n]", text) if word.strip())


# Keywords are compared with `as_read` text: written here without accents or with, alike. One or
# two lines a language: en, de, fr, es, pt, it, nl, pl, ru, then ja and zh.
_SHIPPING = _words("""
parcel*, package*, deliver*, shipping, shipment*, ship, shipped, courier*, tracking, dispatch*
tracking number, arrive*, where is my order, not received, never came, postman, delivery address
shipping address, wrong address
paket*, lieferung*, geliefert, lieferadresse, versand*, versendet, sendung*, zustell*, angekommen
kurier*, sendungsverfolgung, wo ist meine bestellung
colis, livraison*, livre, livree, livrer, expedi*, envoi, suivi, transporteur, pas recu
paquete*, envio*, enviado, entrega*, llegado, llego, seguimiento, mensajero, repartidor
direccion de entrega
encomenda*, pacote*, enviada, entregue, chegou, rastreio, rastreamento, transportadora
pacco, pacchi, spedizione*, spedito, consegna*, consegnato, corriere, arrivato
pakket*, pakje, bezorg*, levering*, geleverd, verzend*, verzonden, aangekomen
paczk*, przesylk*, dostaw*, kurier, wysylk*, wyslan*, dotarla, doszla
посылк*, доставк*, доставлен*, отправлен*, трек*, курьер*, пришла, пришел
荷物, 配送, 発送, 届, 配達, 追跡
包裹, 快递, 物流, 发货, 没收到, 还没到
""")
_RETURNS = _words("""
return*, refund*, send back, sent back, send it back, exchange*, money back, reimburse*, cancel*
wrong size, doesn't fit, too small, too big, store credit
ruckerstattung*, erstatt*, zuruckschicken, zurucksenden, rucksendung*, retoure*, umtausch*
geld zuruck, storn*, widerruf*, passt nicht
rembours*, retour*, retourner, renvoy*, echange*, echanger, annul*, trop petit
reembolso*, devolucion*, devolver, cambiar, cancelar, reembolsar
devolucao, devolver, troca, trocar, estorno, cancelar
rimbors*, reso, resi, restituire, restituzione, annullare
terugbetal*, terugstort*, retourneren, terugsturen, ruilen, geld terug, annuleren
zwrot*, zwroc*, zwrocic, reklamacj*, wymian*, anulowa*
возврат*, вернуть, обмен*, отмен*
返品, 返金, 交換, キャンセル
退货, 退款, 换货
""")
_BILLING = _words("""
invoice*, receipt*, bill, billing, billed, charge, charged, charges, payment*, paid, pay, card
declined, vat, tax, paypal, credit card, promo code, coupon, discount code
rechnung*, zahlung*, bezahl*, abgebucht, abbuchung, mehrwertsteuer, mwst, ust, kreditkarte, karte
gutschein*, rabattcode
facture*, paiement*, paye, payer, preleve, prelevement, debite, tva, carte, code promo
factura*, pago*, pagar, pagado, cobr*, cargo*, iva, tarjeta, rechazad*
fatura*, nota fiscal, pagamento*, cobrad*, cobranca, cartao, recusad*
fattura*, pagamento, pagare, pagato, addebit*, carta, rifiutat*
factuur*, facturen, betaling*, betaald, betalen, afgeschreven, btw, creditcard
faktur*, platnos*, zaplaci*, oplat*, pobran*, karta, karty, odrzucon*
счет*, оплат*, платеж*, списал*, списан*, карт*, ндс
請求, 支払, 決済, 領収書, 二重
发票, 付款, 支付, 扣款, 扣了, 账单, 信用卡
""")
_ACCOUNT = _words("""
log in, login, logged out, sign in, signin, password, account, locked out, 2fa, two-factor
two factor, authenticator, verification code, username, delete my account, my data, gdpr, reset
anmeld*, einlogg*, passwort*, kennwort, konto, zugang, gesperrt, zwei-faktor, dsgvo
connexion, connecter, mot de passe, compte, identifiant*, reinitialis*, double authentification
iniciar sesion, contrasena, cuenta, acceder
senha, conta, entrar, acesso, acessar
accesso, accedere, credenziali
inloggen, wachtwoord, geblokkeerd, tweestapsverificatie
logowa*, zalogowa*, haslo, hasla, konto, konta, zablokowan*
войти, вход*, парол*, аккаунт*, учетн*
ログイン, パスワード, アカウント, 二段階認証
登录, 登陆, 密码, 账号, 账户, 验证码
""")
_TECHNICAL = _words("""
error*, bug*, crash*, not working, doesn't work, won't load, don't load, doesn't load, website
site, app, page, blank page, white screen, button, loading, freez*, glitch*, timeout, server
outage, browser, api, webhook*, integration, 404
fehler*, funktioniert nicht, geht nicht, absturz, sturzt ab, abgesturzt, ladt nicht, seite
erreur*, plante, ne marche pas, ne fonctionne pas, appli*, ne charge pas
fallo*, no funciona, no carga, pagina, web, aplicacion, se cierra, se cuelga
erro, erros, nao funciona, nao carrega, aplicativo, travando, trava
errore*, non funziona, non carica, sito, si blocca
fout*, foutmelding, werkt niet, laadt niet, storing, crasht
blad*, nie dziala, strona, stronie, aplikacj*, zawiesza
ошибк*, не работает, сайт*, приложени*, вылетает, не загружается
エラー, 不具合, 動かない, 表示されない, アプリ
错误, 报错, 打不开, 崩溃, 网站, 页面, 闪退
""")

DEFAULT_CATEGORIES: tuple[Category, ...] = (
    Category("Shipping", _SHIPPING),
    Category("Returns & refunds", _RETURNS),
    Category("Billing", _BILLING),
    Category("Account & login", _ACCOUNT),
    Category("Technical problem", _TECHNICAL),
    Category(OTHER),
)
"""The demo shop's categories; a team lists its own in `[ai]`."""

# Priority and sentiment cues ------------------------------------------------------------------

_URGENT = _words("""
outage, site is down, site down, website is down, is down for, all our users, all users
all of our users, all customers, nobody can, no one can, hacked, fraud*, stolen, someone else
unauthorised, unauthorized, didn't make, data breach
gehackt, betrug, niemand kann, alle kunden, pirate, fraude, personne ne peut, hackeado
nadie puede, invadida, hackerato, frode, nessuno riesce, wlamanie, oszustwo, nikt nie moze
взлом*, мошенн*, 不正, 乗っ取, 被盗, 盗刷, 被黑
""")
_HIGH = _words("""
urgent*, asap, immediately, right now, right away, emergency, charged twice, charged me twice
double charged, charged double, can't log in at all, cannot log in at all, locked out
still waiting, third time, chargeback, lawyer
dringend*, sofort, eilig, so schnell wie moglich, doppelt abgebucht, zweimal abgebucht
heute noch, anwalt, au plus vite, immediatement, tout de suite, deux fois, avocat
urgente*, lo antes posible, inmediatamente, dos veces, abogado, o mais rapido possivel
imediatamente, duas vezes, advogado, il prima possibile, subito, due volte, avvocato
zo snel mogelijk, meteen, onmiddellijk, twee keer, dubbel afgeschreven, pilne, pilnie
jak najszybciej, natychmiast, dwa razy, срочно, немедленно, дважды
至急, 緊急, 急ぎ, 紧急, 尽快, 马上, 两次
""")
_LOW = _words("""
no rush, no hurry, when you have time, when you get a chance, whenever you can, not urgent
just curious, just wondering, out of curiosity, low priority
keine eile, kein stress, nicht dringend, wenn ihr zeit habt, aus neugier, pas presse
rien d'urgent, pas urgent, quand vous aurez le temps, par curiosite, sin prisa
no es urgente, cuando puedan, por curiosidad, sem pressa, nao e urgente, quando puderem
nessuna fretta, non e urgente, con calma, per curiosita, geen haast, niet dringend
uit nieuwsgierigheid, bez pospiechu, nie ma pospiechu, nie pilne, z ciekawosci
не срочно, не спешу, 急ぎません, 不急
""")
_NEGATIVE = _words("""
angry, annoy*, furious, terrible, awful, horrible, worst, unacceptable, ridiculous, disappoint*
frustrat*, useless, scam, joke, fed up, sick of, pathetic, disgusting, outrageous, waste of
never again, rip-off, wtf, hate, upset, nobody answers, no one answers, not ok
enttauscht*, verargert, argerlich, wutend, unverschamt, frechheit, katastroph*, schrecklich
furchtbar, sauer, nie wieder
decu*, inacceptable, inadmissible, scandaleux, honteux, furieux, enerve, n'importe quoi
ras le bol, arnaque, lamentable, pas content, pas contente
inaceptable, verguenza, vergonzoso, harto, harta, enfadad*, pesimo, estafa, decepcionad*
indignante, inaceitavel, absurdo, vergonha, pessimo, horrivel, irritad*, furioso, palhacada
inaccettabile, vergogna, vergognoso, terribile, delus*, arrabbiat*, assurdo, truffa, schifo
teleurgesteld, belachelijk, schandalig, onacceptabel, boos, woedend, waardeloos, oplichting
rozczarowan*, skandal*, zenujace, okropn*, fataln*, wsciek*, oszust*, beznadziejn*
ужасн*, отвратительн*, безобразие, возмутительн*, недовол*, разочарован*, кошмар
ひどい, 最悪, 残念, 不満, 太差, 垃圾, 失望, 生气, 愤怒, 不满
""")
_POSITIVE = _words("""
great, love, loved, awesome, amazing, excellent, perfect, wonderful, fantastic, happy, glad
pleased, well done, brilliant, appreciate*, helpful, you rock, satisfied, super fast
toll, klasse, prima, zufrieden, begeistert, grossartig, perfekt, gute arbeit
genial, parfait, ravi*, suis content, suis contente, formidable, bravo
perfecto, encanta, contento, contenta, maravill*, estupendo
otimo, perfeito, adorei, maravilh*, incrivel, ottimo, perfetto, fantastico, felice, bravissim*
geweldig, blij, tevreden, fantastisch, swietn*, doskonal*, zadowolon*, rewelac*
отлично, замечательн*, доволен, довольна
素晴らしい, 最高, 助かりました, 嬉しい, 很好, 太好了, 满意, 棒
""")
_THANKS = _words("""
thanks, thank you, thx, danke, vielen dank, merci, gracias, obrigado, obrigada, grazie
bedankt, dank je, dankjewel, dziekuje, dzieki, спасибо, ありがとう, 谢谢, 感谢
""")
_NEGATORS = frozenset(
    _words("""
not, no, never, nothing, nicht, kein, keine, nie, pas, ne, jamais, nunca, nao, nem, non, mai
niet, geen, nooit, не, ни, 不, 没""")
)

# Reading a message as a person does -----------------------------------------------------------

_CODE_FENCE = re.compile(r"```[^\n`]*\n?|```")
_DISCORD_TAG = re.compile(r"<(?:@[!&]?|#)\d+>|<a?:(\w+):\d+>|<t:-?\d+(?::[tTdDfFR])?>")
_LINK = re.compile(r"\[([^\]\n]*)\]\(\s*<?([^)\s>]*)>?\s*\)|<(https?://[^>\s]+)>")
_LINE_MARK = re.compile(r"^[ \t]*(?:>>>?[ \t]?|>[ \t]|-#[ \t]|#{1,3}[ \t]|[-*+][ \t])", re.M)
_EMPHASIS = re.compile(r"\*+|~~|\|\||(?<!\w)_+|_+(?!\w)|`")
_SPACES = re.compile(r"[^\S\n]+")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'"})
_UNDECOMPOSED = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "æ": "ae", "œ": "oe", "\u0131": "i"})


def shown(text: str) -> str:
    """What a person sees of a Discord message: NFKC, no invisible characters, no markup
    (emphasis, quotes, headings, mentions, fences), links as their labels; case and accents
    kept."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    text = "".join(c for c in text if c.isspace() or not invisible(c))
    text = _CODE_FENCE.sub(" ", text)
    text = _DISCORD_TAG.sub(lambda m: f":{m[1]}:" if m[1] else " ", text)
    text = _LINK.sub(lambda m: m[1] or m[2] or m[3], text)
    text = _LINE_MARK.sub("", text)
    text = _EMPHASIS.sub("", text)
    return _SPACES.sub(" ", text).strip()


def as_read(text: str) -> str:
    """`shown(text)` in lower case without accents: what the keywords are matched against."""
    lowered = shown(text).casefold().translate(_UNDECOMPOSED)
    decomposed = unicodedata.normalize("NFKD", lowered)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not invisible(c)))


# Keywords ---------------------------------------------------------------------------------------

_SPACELESS = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")


def _pattern(keyword: str) -> str:
    """A keyword as a regular expression over `as_read` text (syntax in the module's doc),
    without the word boundaries, which `_compiled` puts around all of them at once."""
    prefix = keyword.endswith("*")
    word = as_read(keyword.rstrip("*"))  # before reading: `*` is emphasis to `shown`
    body = re.escape(word).replace("'", "'?")
    return re.sub(r"(?:\\ )+", r"\\s+", body) + (r"\w*" if prefix else "")


@lru_cache(maxsize=64)
def _compiled(keywords: tuple[str, ...]) -> re.Pattern[str] | None:
    """One expression for a list. Words are tried only where a word starts, which keeps a
    search about five times faster than bounding each alternative; keywords in scripts written
    without spaces are tried everywhere."""
    ordered = sorted(keywords, key=len, reverse=True)  # the longest phrase wins at one place
    worded = [_pattern(k) for k in ordered if not _SPACELESS.search(k)]
    glued = [_pattern(k) for k in ordered if _SPACELESS.search(k)]
    parts = [rf"(?<!\w)(?:{'|'.join(worded)})(?!\w)"] if worded else []
    parts += glued
    return re.compile("|".join(parts)) if parts else None


@dataclass(frozen=True, slots=True)
class _Found:
    score: float
    first: int


def _found(read: str, keywords: tuple[str, ...]) -> _Found:
    """The distinct keywords `read` holds, weighed (a phrase 1.5, a word 1), and where the
    first is."""
    pattern = _compiled(keywords)
    matches = list(pattern.finditer(read)) if pattern else []
    distinct = {re.sub(r"\s+", " ", m[0]) for m in matches}
    score = sum(1.5 if " " in phrase else 1.0 for phrase in distinct)
    return _Found(score, matches[0].start() if matches else len(read))


# The three judgements ---------------------------------------------------------------------------


def _category(read: str, categories: Sequence[Category]) -> tuple[str, float]:
    scored = [(_found(read, c.keywords), i, c.name) for i, c in enumerate(categories)]
    scored = [entry for entry in scored if entry[0].score > 0]
    if not scored:
        return OTHER, 0.3
    scored.sort(key=lambda entry: (-entry[0].score, entry[0].first, entry[1]))
    best = scored[0][0].score
    runner_up = scored[1][0].score if len(scored) > 1 else 0.0
    # Strength saturates (one keyword 0.5, three 0.75) and a tie halves it: one keyword alone
    # gives 0.55, three 0.73, a tie of one each 0.38, just above no keyword at all (0.3).
    strength = best / (best + 1)
    margin = (best - runner_up) / best
    return scored[0][2], round(0.2 + 0.7 * strength * (0.5 + 0.5 * margin), 2)


_RAISING: tuple[tuple[Priority, tuple[str, ...], float], ...] = (
    ("urgent", _URGENT, 0.7),
    ("high", _HIGH, 0.65),
)


def _priority(read: str) -> tuple[Priority, float]:
    low = _compiled(_LOW)
    rest = low.sub(" ", read) if low else read
    for level, cues, confidence in _RAISING:
        found = _found(rest, cues)
        if found.score:
            return level, round(min(0.9, confidence + 0.1 * (found.score - 1)), 2)
    if rest != read:
        return "low", 0.7
    return "normal", 0.5


_SHOUT = re.compile(r"\b[A-Z]{5,}\b")  # longer than most acronyms (IBAN, GDPR)
_INSISTENT = re.compile(r"[!?]{3,}")


def _sentiment(read: str, text: str) -> tuple[Sentiment, float]:
    negative = _found(read, _NEGATIVE).score
    positive = 0.0
    pattern = _compiled(_POSITIVE)
    for match in pattern.finditer(read) if pattern else ():
        if _negated(read, match.start()):
            negative += 1
        else:
            positive += 1
    positive += 0.5 * _found(read, _THANKS).score
    # "!!!" and capitals are excitement beside praise, and frustration without any.
    if not positive and (_INSISTENT.search(read) or len(_SHOUT.findall(shown(text))) >= 2):
        negative += 1
    if negative >= 1 and negative > positive:
        return "negative", round(min(0.9, 0.5 + 0.15 * (negative - positive)), 2)
    if positive >= 1 and positive > negative:
        return "positive", round(min(0.9, 0.5 + 0.15 * (positive - negative)), 2)
    return "neutral", 0.6 if negative == positive == 0 else 0.5


def _negated(read: str, at: int) -> bool:
    """Whether one of the three words before `at` negates it ("not happy", "isn't great")."""
    before = read[max(0, at - 40) : at]
    if before.endswith(("不", "没")):
        return True
    words = re.findall(r"[\w']+", before)[-3:]
    return any(word in _NEGATORS or word.endswith("n't") for word in words)


# The title --------------------------------------------------------------------------------------

_GREETING = (
    r"(?:hi|hello|hey|hiya|heya|yo|dear|greetings|good (?:morning|afternoon|evening)|hallo|moin|"
    r"servus|guten (?:tag|morgen|abend)|liebes?|bonjour|bonsoir|salut|coucou|hola|buen[oa]s"
    r"(?: (?:dias|días|tardes|noches))?|olá|ola|oi|bom dia|boa (?:tarde|noite)|ciao|salve|"
    r"buongiorno|buonasera|hoi|goedemorgen|goedemiddag|dag|cześć|czesc|dzień dobry|dzien dobry|"
    r"witam|здравствуйте|привет|добрый день)"
)
_ADDRESSEE = (
    r"(?:\s+(?:team|everyone|all|guys|folks|there|support|zusammen|leute|a (?:todos|tutti))\b)*"
)
# A greeting, then up to three words (a name, "support team") when a comma or the like closes
# them, else the greeting alone.
_GREETED = re.compile(
    rf"^{_GREETING}{_ADDRESSEE}"
    rf"(?:(?:\s+[^\s,.!?:;]+){{0,3}}?\s*(?:[,.!?:;\u2014\u2013-]+|$)|\b)[\s\W]*?(?=\w|$)",
    re.I,
)
# Sentences end at a stop and a space, or at a stop glued to the next sentence as Chinese and
# Japanese write them (their full-width ! and ? are ASCII after NFKC), or at a line break.
_SENTENCE = re.compile(r"(?<=[.!?…])\s+|(?<=[。!?])(?=[^\s!?])|\n+")


def title_of(text: str) -> str:
    """The message's first sentence, without greeting or markup, cut at a word to fit."""
    sentences = [s.strip() for s in _SENTENCE.split(shown(text)) if s.strip()]
    for sentence in sentences:
        words = _GREETED.sub("", sentence, count=1).strip()
        if any(c.isalnum() for c in words):
            return _clipped(words[:1].upper() + words[1:])
    return _clipped(sentences[0]) if sentences else "(no text)"  # a greeting and nothing else


def _clipped(text: str) -> str:
    if len(text) <= TITLE_LENGTH:
        return text
    cut = text[: TITLE_LENGTH - 1]
    if " " in cut[TITLE_LENGTH // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-") + "…"


# The whole ----------------------------------------------------------------------------------------


def triage(
    text: str,
    categories: Sequence[Category] = DEFAULT_CATEGORIES,
    language: str | None = None,
) -> Triage:
    """The keyword triage of a customer's message (see the module's doc). `language` is what
    the caller detected; it is passed through."""
    read = as_read(text)
    category, category_confidence = _category(read, categories)
    priority, priority_confidence = _priority(read)
    sentiment, sentiment_confidence = _sentiment(read, text)
    return Triage(
        category=category,
        category_confidence=category_confidence,
        priority=priority,
        priority_confidence=priority_confidence,
        sentiment=sentiment,
        sentiment_confidence=sentiment_confidence,
        language=language,
        title=title_of(text),
    )
