"""Renderings of infra/template.yaml for the two places it is deployed.

* `render_for_emulator()` - what the local stack (and the integration tests) create in the
  emulator's CloudFormation. The emulator only understands an inline `DefinitionString` for a
  state machine, so every `DefinitionS3Location` that names a local file (``./timer.asl.json``)
  is replaced by the file's text inside ``Fn::Sub`` with the template's
  `DefinitionSubstitutions`. Resources of the types in `EMULATOR_UNSUPPORTED` (SES receiving:
  the emulator has none, the local stack's SMTP ingress stands in for it) are dropped, with
  the outputs and `DependsOn` entries that name them.
* `render_merge_template(stage)` - the template with the ASL inlined (and nothing dropped) plus
  infra/lambda.yaml (the wiring of Chalice's generated functions to these resources) and each
  function role's IAM policy generated from infra/permissions.yaml (infra/permissions.py), for
  ``chalice package --merge-template``. Inlining the ASL here too keeps the packaged
  sam.yaml self-contained: a relative ``DefinitionS3Location`` would be resolved against
  build/<stage>/ by ``aws cloudformation package`` / ``sam deploy``, where the file is not.
  The `Stage` parameter defaults to the stage, `SupportDomain` to the domain of the stage's
  ``SETU_SUPPORT_ADDRESS`` in .chalice/config.json.

CLI::

    python -m infra.render merge --stage dev --out build/merge.yaml
    python -m infra.render emulator --out build/emulator.json

The YAML loader understands CloudFormation's short tags (!Ref, !GetAtt, !Sub, ...) and turns
them into the long form ({"Ref": ...}, {"Fn::GetAtt": [...]}), so every rendering is plain
data that dumps as JSON or tag-free YAML.
"""
from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

INFRA_DIR = Path(__file__).resolve().parent
TEMPLATE_PATH = INFRA_DIR / "template.yaml"
OVERLAY_PATH = INFRA_DIR / "lambda.yaml"
CHALICE_CONFIG_PATH = INFRA_DIR.parent / ".chalice" / "config.json"

# Resource types the emulator's CloudFormation (moto) cannot create. SES receiving: moto has no
# receipt rules in CloudFormation and no SMTP endpoint; local/smtp.py does what the rule does.
# End User Messaging SMS (SMS v2): moto has no such API; the local stack sends through SNS.
# Secrets Manager: moto's CloudFormation has no secrets; local/stack.py creates the signing
# secret through the Secrets Manager API as the template would (setu-<stage>-signing).
# Cognito: moto's CloudFormation has no user pools; local/stack.py creates the console's pool
# and app client through the Cognito API with the template's settings.
EMULATOR_UNSUPPORTED = frozenset({"AWS::SES::ReceiptRuleSet", "AWS::SES::ReceiptRule",
                                  "AWS::SMSVOICE::ConfigurationSet",
                                  "AWS::SecretsManager::Secret", "AWS::Cognito::UserPool",
                                  "AWS::Cognito::UserPoolClient"})

# Short tag -> long form key. !Ref, !Condition and !GetAtt are special-cased below.
_FN_TAGS = (
    "And", "Base64", "Cidr", "Equals", "FindInMap", "GetAZs", "If", "ImportValue", "Join",
    "Length", "Not", "Or", "Select", "Split", "Sub", "ToJsonString", "Transform",
)


class CfnLoader(yaml.SafeLoader):
    """A SafeLoader that also reads CloudFormation's short-form intrinsic functions."""


def _construct_value(loader: CfnLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


def _fn(name: str):
    def construct(loader: CfnLoader, node: yaml.Node) -> dict:
        return {f"Fn::{name}": _construct_value(loader, node)}

    return construct


def _ref(loader: CfnLoader, node: yaml.Node) -> dict:
    return {"Ref": loader.construct_scalar(node)}


def _condition(loader: CfnLoader, node: yaml.Node) -> dict:
    return {"Condition": loader.construct_scalar(node)}


def _get_att(loader: CfnLoader, node: yaml.Node) -> dict:
    value = _construct_value(loader, node)
    if isinstance(value, str):
        resource, _, attribute = value.partition(".")
        if not attribute:
            raise yaml.constructor.ConstructorError(
                None, None, f"!GetAtt needs Resource.Attribute, got {value!r}", node.start_mark)
        value = [resource, attribute]
    return {"Fn::GetAtt": value}


for _tag in _FN_TAGS:
    CfnLoader.add_constructor(f"!{_tag}", _fn(_tag))
CfnLoader.add_constructor("!Ref", _ref)
CfnLoader.add_constructor("!Condition", _condition)
CfnLoader.add_constructor("!GetAtt", _get_att)


def load_yaml(path: Path | str) -> dict:
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=CfnLoader)  # noqa: S506 - CfnLoader is a SafeLoader


def load_template(path: Path | str = TEMPLATE_PATH) -> dict:
    """infra/template.yaml as plain data, short tags turned into long form."""
    return load_yaml(path)


def _is_local_path(location: Any) -> bool:
    return isinstance(location, str) and not location.startswith(("s3://", "https://", "http://"))


def inline_state_machine_definitions(template: dict, base_dir: Path = INFRA_DIR) -> dict:
    """Replace each local-file `DefinitionS3Location` by an inline `DefinitionString`.

    Returns a new template; the one given is not changed.
    """
    rendered = copy.deepcopy(template)
    for logical_id, resource in rendered.get("Resources", {}).items():
        if resource.get("Type") != "AWS::StepFunctions::StateMachine":
            continue
        props = resource.get("Properties", {})
        location = props.get("DefinitionS3Location")
        if not _is_local_path(location):
            continue
        path = (base_dir / location).resolve()
        if not path.is_file():
            raise FileNotFoundError(f"{logical_id}: state machine definition {path} not found")
        text = path.read_text(encoding="utf-8")
        json.loads(text)  # fail here, not in CloudFormation, on a broken definition
        substitutions = props.pop("DefinitionSubstitutions", None)
        del props["DefinitionS3Location"]
        props["DefinitionString"] = (
            {"Fn::Sub": [text, substitutions]} if substitutions else {"Fn::Sub": text}
        )
    return rendered


def references(value: Any, logical_ids: set[str] | frozenset[str]) -> set[str]:
    """Which of `logical_ids` `value` names through Ref, Fn::GetAtt or a ${...} in Fn::Sub."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item, logical_ids)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and item in logical_ids:
                found.add(item)
            elif key == "Fn::GetAtt":
                target = item[0] if isinstance(item, list) else str(item).partition(".")[0]
                if target in logical_ids:
                    found.add(target)
            elif key == "Fn::Sub":
                text = item[0] if isinstance(item, list) else item
                if isinstance(text, str):
                    found |= {name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text)
                              if name.split(".")[0] in logical_ids}
                if isinstance(item, list):
                    found |= references(item[1:], logical_ids)
            else:
                found |= references(item, logical_ids)
    return found


def drop_unsupported(template: dict, types: frozenset[str] = EMULATOR_UNSUPPORTED) -> dict:
    """A copy of `template` without resources of `types`, the outputs that name them and the
    `DependsOn` entries on them. Any other reference to a dropped resource is an error."""
    rendered = copy.deepcopy(template)
    resources = rendered.get("Resources", {})
    dropped = {name for name, resource in resources.items() if resource.get("Type") in types}
    for name in dropped:
        del resources[name]
    for name, output in list(rendered.get("Outputs", {}).items()):
        if references(output, dropped):
            del rendered["Outputs"][name]
    for name, resource in resources.items():
        depends = resource.get("DependsOn")
        if depends is not None:
            kept = [d for d in ([depends] if isinstance(depends, str) else depends)
                    if d not in dropped]
            if kept:
                resource["DependsOn"] = kept
            else:
                del resource["DependsOn"]
        named = references(resource, dropped)
        if named:
            raise ValueError(f"{name} refers to {sorted(named)}, which the emulator cannot create")
    return rendered


def render_for_emulator(path: Path | str = TEMPLATE_PATH) -> dict:
    """The template as the emulator's CloudFormation accepts it: ASL inlined, resources it
    cannot create (EMULATOR_UNSUPPORTED) left out."""
    return drop_unsupported(_render_inlined(path))


def _render_inlined(path: Path | str = TEMPLATE_PATH) -> dict:
    path = Path(path)
    return inline_state_machine_definitions(load_template(path), path.parent)


def support_domain(stage: str, config_path: Path | str = CHALICE_CONFIG_PATH) -> str | None:
    """The domain of the stage's SETU_SUPPORT_ADDRESS in .chalice/config.json, if there is one."""
    try:
        config = json.loads(Path(config_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    stage_config = config.get("stages", {}).get(stage, {})
    address = (stage_config.get("environment_variables", {}).get("SETU_SUPPORT_ADDRESS")
               or config.get("environment_variables", {}).get("SETU_SUPPORT_ADDRESS") or "")
    domain = address.rpartition("@")[2].strip().lower()
    return domain or None


def _is_intrinsic(value: Any) -> bool:
    if not (isinstance(value, dict) and len(value) == 1):
        return False
    key = next(iter(value))
    return key in ("Ref", "Condition") or key.startswith("Fn::")


def deep_merge(base: Any, overlay: Any) -> Any:
    """Overlay wins; mappings merge key by key, except intrinsic functions, which replace."""
    if isinstance(base, dict) and isinstance(overlay, dict) and not _is_intrinsic(overlay):
        merged = dict(base)
        for key, value in overlay.items():
            merged[key] = deep_merge(base.get(key), value) if key in base else copy.deepcopy(value)
        return merged
    return copy.deepcopy(overlay)


def load_overlay(path: Path | str = OVERLAY_PATH) -> dict:
    return load_yaml(path)


def render_merge_template(stage: str, template_path: Path | str = TEMPLATE_PATH,
                          overlay_path: Path | str = OVERLAY_PATH) -> dict:
    """The template for `chalice package --merge-template`: the template with its ASL inlined
    + lambda.yaml, the Stage parameter defaulting to `stage` and SupportDomain to the stage's
    support address's domain (so `sam deploy` needs no overrides)."""
    from infra import permissions

    merged = deep_merge(_render_inlined(template_path), load_overlay(overlay_path))
    # every function's role: its policy generated from infra/permissions.yaml (Chalice's own,
    # from .chalice/policy-placeholder.json, is replaced: its merge replaces lists)
    merged = deep_merge(merged, permissions.merge_overlay(stage))
    parameters = merged.setdefault("Parameters", {})
    parameters.setdefault("Stage", {"Type": "String"})["Default"] = stage
    domain = support_domain(stage)
    if domain and "SupportDomain" in parameters:
        parameters["SupportDomain"]["Default"] = domain
    return merged


def dump_yaml(template: dict) -> str:
    """Plain YAML (long-form intrinsics, no tags, no anchors), readable by Chalice and cfn-lint."""

    class _NoAliases(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    return yaml.dump(template, Dumper=_NoAliases, sort_keys=False, allow_unicode=True, width=100)


def _write(text: str, out: str | None) -> None:
    if out in (None, "-"):
        sys.stdout.write(text)
        return
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.render", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    merge = sub.add_parser("merge", help="merge template for chalice package")
    merge.add_argument("--stage", default="dev")
    merge.add_argument("--out", default="build/merge.yaml", help="path, or - for stdout")
    emulator = sub.add_parser("emulator", help="template as deployed into the emulator")
    emulator.add_argument("--out", default="-", help="path, or - for stdout")
    emulator.add_argument("--format", choices=("json", "yaml"), default="json")
    args = parser.parse_args(argv)

    if args.command == "merge":
        _write(dump_yaml(render_merge_template(args.stage)), args.out)
    else:
        rendered = render_for_emulator()
        text = json.dumps(rendered, indent=2) + "\n" if args.format == "json" else dump_yaml(rendered)
        _write(text, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
