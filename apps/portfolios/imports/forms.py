"""The upload form: the file, its format (detected unless picked), and what to do with the
positions the portfolio already holds."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

from apps.portfolios.imports.formats import FORMATS, ImportFormat
from apps.portfolios.imports.plan import MODE_LABELS, ImportMode
from apps.portfolios.imports.reading import MAX_BYTES, MAX_ROWS


class ImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        # An empty file gets the import's own message ("The file is empty."), not Django's.
        allow_empty_file=True,
        help_text=f"UTF-8 text (with or without a byte-order mark), up to 1 MB and "
        f"{MAX_ROWS:,} rows, its first row naming the columns.",
        error_messages={"required": "Choose a CSV file to import."},
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,text/csv"}),
    )
    file_format = forms.ChoiceField(
        label="Format",
        required=False,
        choices=[
            ("", "Detect it from the header row"),
            *((s.format.value, s.label) for s in FORMATS),
        ],
    )
    mode = forms.ChoiceField(
        label="Positions this portfolio already holds",
        choices=[(mode.value, label) for mode, label in MODE_LABELS.items()],
        initial=ImportMode.REPLACE.value,
        widget=forms.RadioSelect,
        help_text="Positions the file does not name are left alone either way.",
    )

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        if upload.size is not None and upload.size > MAX_BYTES:
            raise ValidationError(
                "The file is %(size).1f MB; the limit is 1 MB (about %(rows)s rows). Split it "
                "and import each part.",
                code="too_big",
                params={"size": upload.size / 1024 / 1024, "rows": f"{MAX_ROWS:,}"},
            )
        return upload

    @property
    def chosen_format(self) -> ImportFormat | None:
        value = self.cleaned_data.get("file_format")
        return ImportFormat(value) if value else None

    @property
    def chosen_mode(self) -> ImportMode:
        return ImportMode(self.cleaned_data.get("mode") or ImportMode.REPLACE)
