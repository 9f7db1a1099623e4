"""The public support request form: what a user may type, and what each field must hold.

Validation only: no writes. Ids are read with ``tickets.gridtext``, so a BigPanDA link pasted
in is as good as the number. A field in error says which value is wrong and why; the form keeps
what was typed (Django re-renders a bound form's values, escaped).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from people.models import Team
from tickets.gridtext import find_ids, parse_job_or_url, parse_task_or_url
from tickets.models import Category

# How many ids of one kind a form may carry; more belong in an attached list.
MAX_IDS = 50
MAX_ATTACHMENTS = 10
HONEYPOT = "homepage"
# BigPanDA's own parameter names, so that a monitor page can link with what it has.
PREFILL_ALIASES = {"jeditaskid": "task", "pandaid": "job", "computingsite": "site"}
# Error codes a monitor page may pass, written as lines of the error field ("Pilot error
# code: 1305"); BigPanDA's names and a plain error_code.
PREFILL_ERROR_CODES = {
    "error_code": "Error code",
    "errorcode": "Error code",
    "piloterrorcode": "Pilot error code",
    "exeerrorcode": "Executable error code",
    "ddmerrorcode": "DDM error code",
    "transexitcode": "Transformation exit code",
}
MAX_ERROR_CODE = 100

_SPLIT = re.compile(r"[\s,;]+")
# Words people write around ids ("task 15934870 and 15934871"): not ids, not errors.
_FILLER = re.compile(r"(?:jedi)?(?:task|job|panda)(?:id)?s?[:=#]?|ids?[:=#]?|and|or|&|#", re.I)
_SCOPE = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,29}"
_DID = re.compile(rf"({_SCOPE}):([A-Za-z0-9_.-]{{1,250}}/?)")
_SITE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{1,99}")
_RELEASE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.,+ -]{0,99}")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class SupportRequest:
    """A validated request, as the service takes it."""

    name: str
    email: str
    subject: str
    category: str
    description: str
    tasks: tuple[int, ...] = ()
    jobs: tuple[int, ...] = ()
    datasets: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()
    release: str = ""
    command: str = ""
    error: str = ""
    honeypot: str = ""  # anything here: a bot filled the hidden field


def megabytes(size: int) -> str:
    """10485760 -> '10 MB' (binary megabytes, as file managers count them)."""
    value = size / (1024 * 1024)
    return f"{value:.0f} MB" if value >= 10 or value == int(value) else f"{value:.1f} MB"


def _shown(token: str) -> str:
    return token if len(token) <= 60 else f"{token[:57]}..."


def _tokens(value: str) -> list[str]:
    tokens = (t.strip("()[]<>\"'.") for t in _SPLIT.split(value))
    return [t for t in tokens if t and not _FILLER.fullmatch(t)]


def _ids(
    value: str,
    parse: Callable[[str], int | None],
    what: str,
    other: tuple[Callable[[str], int | None], str, str],
) -> tuple[int, ...]:
    """Ids typed or pasted; ``other`` is how to read, name and file the other kind of id, to
    point a link pasted into the wrong field to the right one."""
    parse_other, other_noun, other_label = other
    found: list[int] = []
    for token in _tokens(value):
        number = parse(token)
        if number is None:
            if not token.isdigit() and parse_other(token) is not None:
                raise forms.ValidationError(
                    f"“{_shown(token)}” is a {other_noun} link: put it in “{other_label}”."
                )
            raise forms.ValidationError(f"“{_shown(token)}” is not {what}.")
        if number not in found:
            found.append(number)
    if len(found) > MAX_IDS:
        raise forms.ValidationError(f"At most {MAX_IDS} here; attach a file with the rest.")
    return tuple(found)


def _scope_of(name: str) -> str:
    """Rucio's ATLAS convention: user.jdoe.x is in scope user.jdoe, mc16_13TeV.x in mc16_13TeV."""
    parts = name.split(".")
    if parts[0] in ("user", "group") and len(parts) > 2:
        return f"{parts[0]}.{parts[1]}"
    return parts[0] if len(parts) > 1 else ""


def _dataset(token: str) -> str:
    if "*" in token or "?" in token:
        raise forms.ValidationError(
            f"“{_shown(token)}” is a pattern: give the dataset names themselves."
        )
    if ":" not in token:
        scope = _scope_of(token)
        if not scope:
            raise forms.ValidationError(
                f"“{_shown(token)}” is not a dataset name: write it as scope:name, "
                "e.g. user.jdoe:user.jdoe.test1."
            )
        token = f"{scope}:{token}"
    if not _DID.fullmatch(token):
        raise forms.ValidationError(
            f"“{_shown(token)}” is not a dataset name: scope:name, with letters, digits, "
            "dots, dashes and underscores."
        )
    return token


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; each is checked against the size limits."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        items = data if isinstance(data, list | tuple) else [data] if data else []
        files: list[UploadedFile] = [
            super(MultipleFileField, self).clean(d, initial) for d in items
        ]
        return [f for f in files if f]


def _text(rows: int, mono: bool = False, placeholder: str = "") -> forms.Textarea:
    attrs: dict[str, Any] = {"rows": rows, "placeholder": placeholder}
    if mono:
        attrs.update(spellcheck="false", autocapitalize="off", **{"class": "mono"})
    return forms.Textarea(attrs=attrs)


def _line(placeholder: str, **attrs: str) -> forms.TextInput:
    return forms.TextInput(attrs={"placeholder": placeholder, **attrs})


_CODE = {"spellcheck": "false", "autocapitalize": "off", "autocorrect": "off"}


class SupportRequestForm(forms.Form):
    """``team``: the team asked, when the URL says it or there is only one; else a choice."""

    SECTIONS = (
        ("About you", ("team", "name", "email")),
        ("Your problem", ("subject", "category", "description")),
        (
            "Grid details",
            ("task", "job", "dataset", "site", "release", "command", "error"),
        ),
        ("Files", ("attachments",)),
    )

    team = forms.ModelChoiceField(
        queryset=Team.objects.order_by("name"),
        to_field_name="slug",
        empty_label="Choose a team…",
        label="Support team",
        help_text="Who should answer: the team of your experiment or virtual organisation.",
        error_messages={"required": "Choose the team you are asking."},
    )
    name = forms.CharField(
        max_length=200,
        label="Your name",
        error_messages={"required": "Give your name: the shifter writes to you by it."},
        help_text="How the shifter should address you.",
        widget=_line("e.g. Jane Doe", autocomplete="name"),
    )
    email = forms.EmailField(
        max_length=254,
        label="E-mail address",
        error_messages={
            "required": "Give your e-mail address: the answer goes there.",
            "invalid": "This is not an e-mail address (name@example.org).",
        },
        help_text="The acknowledgement and every answer come here; reply to them to add more.",
        widget=forms.EmailInput(attrs={"placeholder": "jane.doe@cern.ch", "autocomplete": "email"}),
    )
    subject = forms.CharField(
        max_length=200,
        help_text="One line that says what fails, e.g. “Task 15934870: all jobs fail at BNL”.",
        error_messages={"required": "Give a subject: one line that says what fails."},
        widget=_line("What fails, where"),
    )
    category = forms.ChoiceField(
        choices=Category.choices,
        initial=Category.OTHER,
        label="Area",
        help_text="Not sure? Leave “Other”: the shifter sorts it.",
    )
    description = forms.CharField(
        max_length=20_000,
        label="What happened",
        error_messages={"required": "Say what happened: what you did and what went wrong."},
        help_text="What you did, what you expected, what happened instead, and since when.",
        widget=_text(6),
    )
    task = forms.CharField(
        required=False,
        max_length=4_000,
        label="JEDI task id(s)",
        help_text="Numbers or BigPanDA task links, separated by commas or spaces.",
        widget=_line("15934870 or https://bigpanda.cern.ch/task/15934870/", **_CODE),
    )
    job = forms.CharField(
        required=False,
        max_length=4_000,
        label="PanDA job id(s)",
        help_text="The PandaID of a failed job, or its BigPanDA link.",
        widget=_line("4567890123", **_CODE),
    )
    dataset = forms.CharField(
        required=False,
        max_length=10_000,
        label="Dataset name(s)",
        help_text="Rucio names as scope:name, one per line.",
        widget=_text(2, mono=True, placeholder="user.jdoe:user.jdoe.test1"),
    )
    site = forms.CharField(
        required=False,
        max_length=500,
        label="Site or queue",
        help_text="The PanDA queue or storage endpoint involved, if you know it.",
        widget=_line("ANALY_BNL or BNL-OSG2_DATADISK", **_CODE),
    )
    release = forms.CharField(
        required=False,
        max_length=100,
        label="Software release",
        help_text="As you set it up, e.g. AnalysisBase,21.2.87.",
        widget=_line("AnalysisBase,21.2.87", **_CODE),
    )
    command = forms.CharField(
        required=False,
        max_length=5_000,
        label="The exact command",
        help_text="Copy it from your terminal, with all its options.",
        widget=_text(2, mono=True, placeholder="prun --exec ... --outDS user.jdoe.test1"),
    )
    error = forms.CharField(
        required=False,
        max_length=50_000,
        label="Error message or log excerpt",
        help_text="The lines around the first error; attach the full log below.",
        widget=_text(5, mono=True),
    )
    attachments = MultipleFileField(
        required=False,
        label="Attachments",
        help_text="",  # set in __init__: it names the limits
    )
    # The honeypot: hidden from people (off screen, out of the tab order), filled by bots.
    homepage = forms.CharField(
        required=False,
        label="Leave this empty",
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def __init__(self, *args: Any, team: Team | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fixed_team = team
        team_field = self.fields["team"]
        if team is not None:
            team_field.widget = forms.HiddenInput()
            team_field.required = False  # the view holds the team; this only carries it
            self.initial["team"] = team.slug
        self.max_files = MAX_ATTACHMENTS
        self.per_file = settings.MAIL_MAX_ATTACHMENT_BYTES
        self.total = settings.MAIL_MAX_TOTAL_ATTACHMENT_BYTES
        self.fields["attachments"].help_text = (
            f"Logs, screenshots, job reports: up to {MAX_ATTACHMENTS} files, "
            f"{megabytes(self.per_file)} each, {megabytes(self.total)} together."
        )

    @classmethod
    def prefill(cls, params: Mapping[str, Sequence[str]]) -> dict[str, str]:
        """Initial values from a URL's query: each field by its name (repeated values are
        joined), BigPanDA's names for tasks, jobs and sites, and error codes (error_code,
        piloterrorcode, ...) as lines of the error field. Unknown names are ignored. The
        page escapes every value, as Django renders any form value."""
        initial: dict[str, str] = {}
        codes: list[str] = []
        for key, values in params.items():
            if key.lower() in PREFILL_ERROR_CODES:
                label = PREFILL_ERROR_CODES[key.lower()]
                shown = (_SPACES.sub(" ", v).strip()[:MAX_ERROR_CODE] for v in values)
                codes += [f"{label}: {code}" for code in shown if code]
                continue
            name = PREFILL_ALIASES.get(key, key)
            field = cls.base_fields.get(name)
            if field is None or name in ("attachments", HONEYPOT, "team"):
                continue
            value = ", ".join(v.strip() for v in values if v.strip())
            if name in initial:
                value = f"{initial[name]}, {value}"
            initial[name] = value[: getattr(field, "max_length", None) or 1000]
        if codes:
            error = "\n".join([*codes, initial.get("error", "")]).strip("\n")
            initial["error"] = error[: getattr(cls.base_fields["error"], "max_length", 1000)]
        if initial.get("category") not in Category.values:
            initial.pop("category", None)
        return initial

    def sections(self) -> list[tuple[str, list[forms.BoundField]]]:
        shown = []
        for title, names in self.SECTIONS:
            fields = [self[n] for n in names if not (n == "team" and self.fixed_team)]
            shown.append((title, fields))
        return shown

    # -- the fields --------------------------------------------------------------------------
    def _one_line(self, name: str) -> str:
        # Subjects and names end up in mail headers: no line breaks, whatever was posted.
        return _SPACES.sub(" ", self.cleaned_data[name]).strip()

    def clean_name(self) -> str:
        return self._one_line("name")

    def clean_subject(self) -> str:
        return self._one_line("subject")

    def clean_task(self) -> tuple[int, ...]:
        return _ids(
            self.cleaned_data["task"],
            parse_task_or_url,
            "a JEDI task id: a number of 6 to 10 digits, or a BigPanDA task link",
            (parse_job_or_url, "PanDA job", "PanDA job id(s)"),
        )

    def clean_job(self) -> tuple[int, ...]:
        return _ids(
            self.cleaned_data["job"],
            parse_job_or_url,
            "a PanDA job id: a number of 7 to 12 digits, or a BigPanDA job link",
            (parse_task_or_url, "JEDI task", "JEDI task id(s)"),
        )

    def clean_dataset(self) -> tuple[str, ...]:
        found = tuple(
            dict.fromkeys(_dataset(t) for t in _SPLIT.split(self.cleaned_data["dataset"]) if t)
        )
        if len(found) > MAX_IDS:
            raise forms.ValidationError(f"At most {MAX_IDS} here; attach a file with the rest.")
        return found

    def clean_site(self) -> tuple[str, ...]:
        found: list[str] = []
        for token in _SPLIT.split(self.cleaned_data["site"]):
            if not token:
                continue
            if "/" in token or "=" in token:  # a BigPanDA site or queue link
                ids = find_ids(token)
                names = [*ids.queues, *ids.sites]
                if not names:
                    raise forms.ValidationError(f"“{_shown(token)}” names no site or queue.")
                found.extend(n for n in names if n not in found)
                continue
            if not _SITE.fullmatch(token):
                raise forms.ValidationError(
                    f"“{_shown(token)}” is not a site or queue name: letters, digits, "
                    "dots, dashes and underscores, e.g. ANALY_BNL."
                )
            if token not in found:
                found.append(token)
        return tuple(found)

    def clean_release(self) -> str:
        release = self._one_line("release")
        if release and not _RELEASE.fullmatch(release):
            raise forms.ValidationError(
                f"“{_shown(release)}” is not a release: e.g. AnalysisBase,21.2.87 or 22.0.41."
            )
        return release

    def clean_attachments(self) -> list[UploadedFile]:
        files: list[UploadedFile] = self.cleaned_data["attachments"]
        if len(files) > MAX_ATTACHMENTS:
            raise forms.ValidationError(
                f"{len(files)} files: at most {MAX_ATTACHMENTS}; put the rest in a zip or tar file."
            )
        errors = [
            forms.ValidationError(
                f"“{_shown(f.name or '')}” is {megabytes(f.size or 0)}: "
                f"the limit is {megabytes(self.per_file)} per file."
            )
            for f in files
            if (f.size or 0) > self.per_file
        ]
        total = sum(f.size or 0 for f in files)
        if not errors and total > self.total:
            errors.append(
                forms.ValidationError(
                    f"The files are {megabytes(total)} together: the limit is "
                    f"{megabytes(self.total)} for all attachments."
                )
            )
        if errors:
            raise forms.ValidationError(errors)
        return files

    def support_request(self) -> SupportRequest:
        data = self.cleaned_data
        return SupportRequest(
            name=data["name"],
            email=data["email"],
            subject=data["subject"],
            category=data["category"],
            description=data["description"].strip(),
            tasks=data["task"],
            jobs=data["job"],
            datasets=data["dataset"],
            sites=data["site"],
            release=data["release"],
            command=data["command"].strip("\n"),
            error=data["error"].strip("\n"),
            honeypot=data[HONEYPOT],
        )
