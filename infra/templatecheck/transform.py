"""Print template.yaml as CloudFormation will run it: after the real SAM
transform (aws-sam-translator, the library `sam deploy` and cfn-lint use),
offline.

    python3 infra/templatecheck/transform.py template.yaml

prints one JSON object: "source" is the template as written (intrinsic
functions in their long form, {"Ref": ...}), "transformed" the
CloudFormation template the AWS::Serverless-2016-10-31 transform makes of
it. The Go tests beside this file read it. Exit status 2 with a message on
stderr when aws-sam-translator is missing or the transform fails.
"""

import copy
import json
import os
import sys

try:
    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse
except ImportError as e:
    sys.stderr.write(
        "aws-sam-translator is not installed for %s (%s): "
        "pip install aws-sam-translator (or pip install cfn-lint, which brings it)\n"
        % (sys.executable, e)
    )
    sys.exit(2)


class OfflinePolicyLoader:
    """The managed policies SAM may look up by name. Looking them up needs
    IAM (the network and credentials); the template names its managed
    policies by ARN, so a name is an error here."""

    def load(self):
        raise ValueError(
            "template.yaml names a managed policy by name; use its ARN "
            "(arn:${AWS::Partition}:iam::aws:policy/...) so the transform needs no IAM lookup"
        )


def main(path):
    with open(path) as f:
        source = yaml_parse(f.read())
    sam = copy.deepcopy(source)
    # The transform takes only S3 locations; sam build and sam package
    # replace the local CodeUri with one before deploying.
    globals_fn = sam.get("Globals", {}).get("Function", {})
    if isinstance(globals_fn.get("CodeUri"), str):
        globals_fn["CodeUri"] = "s3://sam-build/code.zip"
    for logical_id, res in sam.get("Resources", {}).items():
        props = res.get("Properties") or {}
        if res.get("Type") == "AWS::Serverless::Function" and isinstance(props.get("CodeUri"), str):
            props["CodeUri"] = "s3://sam-build/%s.zip" % logical_id
    # The region only shows in ARNs SAM builds itself; any will do.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    transformed = transform(sam, {}, OfflinePolicyLoader())
    json.dump({"source": source, "transformed": transformed}, sys.stdout, indent=1, sort_keys=True, default=str)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.stderr.write("usage: python3 transform.py template.yaml\n")
        sys.exit(2)
    try:
        main(sys.argv[1])
    except Exception as e:  # the transform's own errors name the resource
        sys.stderr.write("SAM transform of %s failed: %s\n" % (sys.argv[1], e))
        sys.exit(2)
