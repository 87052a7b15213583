"""The console's forms (Flask-WTF: every form carries and checks a CSRF token).

Fields only check shape (present, length); the rules — check digits, scope, levels — live in
the runtime, whose error messages the views show next to the form.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# Flask-WTF and WTForms ship no type information; fields and forms are Any to mypy.
from flask_wtf.file import FileField, FileRequired  # type: ignore[import-untyped]
from wtforms import (  # type: ignore[import-untyped]
    BooleanField,
    DateField,
    HiddenField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (  # type: ignore[import-untyped]
    DataRequired,
    InputRequired,
    Length,
    Optional,
)

from certsvc.issuance.columns import max_chars
from certsvc.models import Certificate
from certsvc.models.base import column_length, text_limit

if TYPE_CHECKING:

    class FlaskForm:
        """What the views use of ``flask_wtf.FlaskForm``, for the type checker."""

        errors: dict[str, list[str]]

        def __init__(self, *args: Any, **kwargs: Any) -> None: ...
        def validate_on_submit(self) -> bool: ...
        def process(self, formdata: Any = None, obj: Any = None, **kwargs: Any) -> None: ...
        def __getattr__(self, name: str) -> Any: ...
        def __getitem__(self, name: str) -> Any: ...

else:
    from flask_wtf import FlaskForm


REQUIRED = "必填 / required"

# Limits declared on the certificate columns (certsvc.models.base.limited): the forms only
# refuse what could never be stored, the service then applies the rules.
_NAME_MAX = column_length(Certificate.holder_name)
_REASON_MAX = text_limit(Certificate.status_reason).max_chars


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class LoginForm(FlaskForm):
    username = StringField(validators=[DataRequired(REQUIRED), Length(max=100)])
    password = PasswordField(validators=[DataRequired(REQUIRED), Length(max=200)])
    next = HiddenField()


class PasswordForm(FlaskForm):
    current = PasswordField(validators=[DataRequired(REQUIRED), Length(max=200)])
    new = PasswordField(validators=[DataRequired(REQUIRED), Length(max=200)])
    repeat = PasswordField(validators=[DataRequired(REQUIRED), Length(max=200)])


class UploadForm(FlaskForm):
    file = FileField(validators=[FileRequired(REQUIRED)])
    #: A ZIP of the holders' photos named by ID number (optional where the body allows).
    photos = FileField()


class ConfirmImportForm(FlaskForm):
    ticket = HiddenField(validators=[DataRequired()])
    content = HiddenField(validators=[DataRequired()])
    #: The previewed photos, normalised, as a ZIP of ``<row>.jpg`` (base64); empty: none.
    photos = HiddenField()


class PhotoSettingForm(FlaskForm):
    """The body's setting: every imported row must come with the holder's photo."""

    photo_required = BooleanField()


class RevokeForm(FlaskForm):
    reason = TextAreaField(validators=[DataRequired(REQUIRED), Length(min=4, max=_REASON_MAX)])


class CorrectForm(FlaskForm):
    name = StringField(validators=[DataRequired(REQUIRED), Length(max=_NAME_MAX)])
    id_type = SelectField(choices=[])
    id_number = StringField(validators=[Optional(), Length(max=64)])
    employer_uscc = StringField(validators=[DataRequired(REQUIRED), Length(max=40)])
    employer_name = StringField(validators=[Length(max=max_chars("employer_name"))])
    occupation_code = StringField(validators=[DataRequired(REQUIRED), Length(max=20)])
    work_type = StringField(validators=[Length(max=max_chars("work_type"))])
    level = SelectField(choices=[])
    issue_date = StringField(validators=[DataRequired(REQUIRED), Length(max=20)])
    route = SelectField(choices=[])
    direct_ground = SelectField(choices=[])
    direct_evidence = TextAreaField(validators=[Length(max=max_chars("direct_evidence"))])


class MemberForm(FlaskForm):
    uscc = StringField(validators=[DataRequired(REQUIRED), Length(max=40)])
    name = StringField(validators=[Length(max=200)])
    valid_from = DateField(validators=[InputRequired(REQUIRED)])
    valid_to = DateField(validators=[Optional()])


class EndMemberForm(FlaskForm):
    valid_to = DateField(validators=[InputRequired(REQUIRED)])


class ScopeForm(FlaskForm):
    occupations = SelectMultipleField(choices=[], validators=[DataRequired(REQUIRED)])
    levels = SelectMultipleField(choices=[], validators=[DataRequired(REQUIRED)])


class ScopeRemoveForm(FlaskForm):
    occupation_code = HiddenField(validators=[DataRequired()])
    level = HiddenField(validators=[DataRequired()])


class RotateKeyForm(FlaskForm):
    confirm = BooleanField(validators=[DataRequired(REQUIRED)])


class CompromiseForm(FlaskForm):
    #: China Standard Time, from an <input type="datetime-local">.
    cutoff = StringField(validators=[DataRequired(REQUIRED), Length(max=40)])
    confirm = BooleanField(validators=[DataRequired(REQUIRED)])


class AccountForm(FlaskForm):
    username = StringField(validators=[DataRequired(REQUIRED), Length(max=100)])
    password = PasswordField(validators=[DataRequired(REQUIRED), Length(max=200)])
    role = SelectField(choices=[])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(validators=[DataRequired(REQUIRED), Length(max=200)])


class TokenForm(FlaskForm):
    name = StringField(validators=[DataRequired(REQUIRED), Length(max=100)])
    role = SelectField(choices=[])


class BodyForm(FlaskForm):
    code = StringField(validators=[DataRequired(REQUIRED), Length(max=20)])
    name_zh = StringField(validators=[DataRequired(REQUIRED), Length(max=200)])
    name_en = StringField(validators=[Length(max=300)])
    uscc = StringField(validators=[DataRequired(REQUIRED), Length(max=40)])
    filing_number = StringField(validators=[Length(max=64)])
    chain_leader = BooleanField()
