"""The assistant: the core's `Assistant` port (`bot/core/ports.py`) on a model and on what
needs none.

Each feature asks the model when it may (`use_model`: a model is configured and the day's
token budget is not spent) and otherwise, or when the model gives no usable answer, falls back:
keyword triage, "articles that may help" instead of a draft, a summary made of the
conversation's own lines, no translation, no automated answer. Nothing here raises for model
trouble: the result's `fallback` says why no model answered.

What leaves for the model is redacted (`redact.py`, one `Redactor` per call) and escaped
(`prompts.py`); the placeholders in what comes back are restored, so agents and customers read
the real values. What the model answers is checked before it is used: a category must be one of
the team's, an article must be one it was given, an automated answer must not claim to be a
person. Drafts and answers are grounded in the knowledge base: with no article above the
policy's cut-off, no model is asked.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from openai import AsyncOpenAI, DefaultAsyncHttpxClient
from openai.types.chat import ChatCompletionMessageParam
from pydantic import BaseModel, SecretStr

from bot.core.ai_policy import AiPolicy, Feature
from bot.core.assist import (
    AutoReply,
    Citation,
    Conversation,
    Drafted,
    Spend,
    Summarised,
    Translated,
    Triaged,
)

from . import checks, language, schemas, triage_fallback
from .knowledge import KnowledgeBase
from .model import ModelClient, ModelUnavailable
from .prompts import Excerpt, Prompt
from .redact import PLACEHOLDER, Kind, Redactor

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)

NO_MODEL = "no model configured"
BUDGET_SPENT = "the day's token budget is spent"
NO_ARTICLE = "no article matches"
NOT_ANSWERED = "the articles do not answer it"
NO_TRANSLATION = "the model gave no translation"
NO_REPLY = "the model gave no reply"
CLAIMED_HUMAN = "the answer claimed to be a person"

# Below this, lingua's guess does not name a language (and for triage the model's wins).
LANGUAGE_CONFIDENCE = 0.5
LANGUAGE_WORDS = 3  # fewer words than this say too little about a language
MAX_ARTICLES = 3
TITLE_CHARS = triage_fallback.TITLE_LENGTH
AUTO_ANSWER_CHARS = 1800  # a Discord message holds 2,000; the rest is for what frames it


class ModelAssistant:
    """`bot.core.ports.Assistant` on a model (`client`; None: no model, fallbacks only) and a
    knowledge base (None: no articles, so no drafts and no automated answers)."""

    def __init__(
        self,
        *,
        policy: AiPolicy,
        client: ModelClient | None,
        default_model: str,
        knowledge: KnowledgeBase | None,
        detector: language.LanguageDetector | None = None,
        sdk: AsyncOpenAI | None = None,
    ) -> None:
        """`sdk`: the `openai` client under `client` when this assistant owns it (as
        `build_assistant`'s does): `aclose()` closes it."""
        self.has_model = client is not None
        self._sdk = sdk
        self._policy = policy
        self._client = client
        self._default_model = default_model
        self._knowledge = knowledge
        self._detector = detector or language.default_detector()
        self._kinds = frozenset(Kind(kind) for kind in policy.redact)
        self._categories = (
            tuple(triage_fallback.Category(c.name, c.keywords) for c in policy.categories)
            or triage_fallback.DEFAULT_CATEGORIES
        )

    # --- the port ------------------------------------------------------------------------------

    async def triage(self, text: str, *, use_model: bool) -> Triaged:
        detected = await self.detect_language(text)
        keyword = triage_fallback.triage(text, self._categories, detected)
        why = self._why_not(use_model)
        if why is None:
            names = [c.name for c in self._categories]
            redactor = self._redactor()
            messages = Prompt(redactor).triage(text, names, self._policy.team_language)
            try:
                answer, spent = await self._ask(Feature.TRIAGE, messages, schemas.Triage)
            except ModelUnavailable as exc:
                why = exc.reason
            else:
                checked = checks.checked_triage(answer, keyword, names, detected)
                title = checks.clipped(redactor.restore(checked.title), TITLE_CHARS)
                return Triaged(dataclasses.replace(checked, title=title), spent=(spent,))
        return Triaged(checks.domain_triage(keyword, by_model=False), fallback=self._fell_back(why))

    async def detect_language(self, text: str) -> str | None:
        if len(language.text_as_read(text).split()) < LANGUAGE_WORDS:
            return None
        found = await asyncio.to_thread(self._detector.detect, text)
        if found is None or found.confidence < LANGUAGE_CONFIDENCE:
            return None
        return found.code

    async def translate(self, text: str, target: str, *, use_model: bool) -> Translated:
        source = await self.detect_language(text)
        if source is not None and source == checks.primary_language(target):
            return Translated(None, source, target)
        why = self._why_not(use_model)
        if why is not None:
            return Translated(None, source, target, fallback=self._fell_back(why))
        redactor = self._redactor()
        messages = Prompt(redactor).translate(text, target)
        try:
            answer, spent = await self._ask(
                Feature.TRANSLATION, messages, schemas.TranslationAnswer
            )
        except ModelUnavailable as exc:
            return Translated(None, source, target, fallback=self._fell_back(exc.reason))
        found = source or checks.language_code(answer.source_language)
        translation = redactor.restore(answer.translation).strip()
        if not translation:
            return Translated(None, found, target, (spent,), self._fell_back(NO_TRANSLATION))
        return Translated(translation, found, target, (spent,))

    async def summarise(self, conversation: Conversation, *, use_model: bool) -> Summarised:
        why = self._why_not(use_model)
        if why is None:
            redactor = self._redactor()
            messages = Prompt(redactor).summary(conversation, self._policy.team_language)
            try:
                answer, spent = await self._ask(Feature.SUMMARY, messages, schemas.SummaryAnswer)
            except ModelUnavailable as exc:
                why = exc.reason
            else:
                return Summarised(redactor.restore(answer.summary).strip(), (spent,))
        return Summarised(checks.extractive_summary(conversation), fallback=self._fell_back(why))

    async def draft(self, conversation: Conversation, *, use_model: bool) -> Drafted:
        """A reply for agents, from the articles above the cut-off; with no model, those
        articles alone ("articles that may help")."""
        articles = await self._articles(conversation)
        if not articles:
            return Drafted(None, fallback=NO_ARTICLE)
        offered = _citations(articles)
        why = self._why_not(use_model)
        if why is not None:
            return Drafted(None, offered, fallback=self._fell_back(why))
        redactor = self._redactor()
        team = self._policy.team_language
        messages = Prompt(redactor).draft(conversation, articles, team)
        try:
            answer, spent = await self._ask(Feature.DRAFT, messages, schemas.DraftAnswer)
        except ModelUnavailable as exc:
            return Drafted(None, offered, fallback=self._fell_back(exc.reason))
        reply = redactor.restore(answer.reply).strip()
        if not answer.enough or not reply:
            return Drafted(None, offered, (spent,), self._fell_back(NOT_ANSWERED))
        return Drafted(reply, checks.cited(answer.sources, offered), (spent,))

    async def auto_answer(self, conversation: Conversation, *, use_model: bool) -> AutoReply:
        """An answer for the customer, or a hand-off. Internal notes are dropped here, whatever
        the caller passed: they never leave for a model that answers customers."""
        conversation = conversation.for_customer()
        why = self._why_not(use_model)
        if why is not None:
            return AutoReply("none", fallback=self._fell_back(why))
        articles = await self._articles(conversation)
        if not articles:
            return AutoReply("handoff", fallback=NO_ARTICLE)
        offered = _citations(articles)
        target = (
            conversation.language
            or await self.detect_language(conversation.last_customer_text)
            or self._policy.team_language
        )
        redactor = self._redactor()
        messages = Prompt(redactor).auto_answer(conversation, articles, target)
        try:
            answer, spent = await self._ask(Feature.AUTO_ANSWER, messages, schemas.AutoAnswer)
        except ModelUnavailable as exc:
            return AutoReply("none", fallback=self._fell_back(exc.reason))
        if answer.action == "handoff":
            return AutoReply("handoff", spent=(spent,))
        reply = redactor.restore(answer.reply).strip()
        refused = _unfit(reply)
        if refused is not None:
            return AutoReply("handoff", spent=(spent,), fallback=self._fell_back(refused))
        text = checks.cut_at_sentence(reply, AUTO_ANSWER_CHARS)
        return AutoReply("answer", text, checks.cited(answer.sources, offered), (spent,))

    async def aclose(self) -> None:
        """Close the model's HTTP connections, if this assistant owns them."""
        if self._sdk is not None:
            await self._sdk.close()

    # --- shared --------------------------------------------------------------------------------

    def _why_not(self, use_model: bool) -> str | None:
        """Why no model may be asked, or None when one may."""
        if self._client is None:
            return NO_MODEL
        return None if use_model else BUDGET_SPENT

    @staticmethod
    def _fell_back(reason: str) -> str:
        log.info("assistant: answered without a model (%s)", reason)
        return reason

    def _redactor(self) -> Redactor:
        return Redactor(self._kinds)

    async def _ask(
        self, feature: Feature, messages: list[ChatCompletionMessageParam], schema: type[T]
    ) -> tuple[T, Spend]:
        if self._client is None:  # callers check `_why_not` first
            raise ModelUnavailable(NO_MODEL)
        model = self._policy.model_for(feature, self._default_model)
        answer = await self._client.structured(messages, schema, model=model)
        used = answer.usage
        return answer.value, Spend(answer.model, used.prompt_tokens, used.completion_tokens)

    async def _articles(self, conversation: Conversation) -> list[Excerpt]:
        """The best articles for the customer's last message (and the subject) that reach the
        policy's cut-off, with the passage of each that answers best."""
        query = _searchable(f"{conversation.subject}\n{conversation.last_customer_text}")
        if self._knowledge is None or not query:
            return []
        return await asyncio.to_thread(_search, self._knowledge, query, self._policy.cutoff)


def build_assistant(
    policy: AiPolicy,
    api_key: SecretStr | str | None,
    base_url: str | None,
    model: str,
    *,
    timeout: float | None = None,
    http_hooks: Mapping[str, list[Callable[[Any], Any]]] | None = None,
) -> ModelAssistant:
    """The assistant as configured: a model when there is a key or a server's address (a local
    server may need no key), the knowledge base of `policy.knowledge` (a missing folder is an
    empty base, with one warning). `http_hooks`: event hooks of the model client's HTTP client
    (`request`, `response`), which see every try (for metrics)."""
    seconds = policy.timeout_seconds if timeout is None else timeout
    client, sdk = None, None
    if api_key is not None or base_url is not None:
        key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        # The client insists on a key; a local server without one ignores it.
        sdk = AsyncOpenAI(
            api_key=key or "no-key",
            base_url=base_url,
            max_retries=2,
            timeout=seconds,
            http_client=DefaultAsyncHttpxClient(event_hooks=http_hooks) if http_hooks else None,
        )
        client = ModelClient(sdk, model, timeout=seconds)
    knowledge = KnowledgeBase(Path(policy.knowledge)) if policy.knowledge else None
    return ModelAssistant(
        policy=policy, client=client, default_model=model, knowledge=knowledge, sdk=sdk
    )


# --- helpers -----------------------------------------------------------------------------------


def _search(knowledge: KnowledgeBase, query: str, cutoff: float) -> list[Excerpt]:
    hits = [hit for hit in knowledge.search(query, MAX_ARTICLES) if hit.relevance >= cutoff]
    return [
        Excerpt(h.article.slug, h.article.title, h.relevance, knowledge.excerpt(h, query))
        for h in hits
    ]


def _searchable(text: str) -> str:
    """`text` without its personal data: no article holds an address or a card number, and
    each would count against the relevance of the articles that answer the question."""
    return PLACEHOLDER.sub(" ", Redactor().redact(text).text).strip()


def _citations(articles: Sequence[Excerpt]) -> tuple[Citation, ...]:
    return tuple(Citation(a.slug, a.title, a.relevance) for a in articles)


def _unfit(reply: str) -> str | None:
    """Why an automated answer may not go to the customer, or None when it may."""
    if not reply:
        return NO_REPLY
    if checks.claims_to_be_human(reply):
        return CLAIMED_HUMAN
    return None
