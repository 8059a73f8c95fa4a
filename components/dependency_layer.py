"""The functions' dependency layer: requirements-layer.txt built for the stack's runtime and architecture."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.layer_build import build, lambda_target, relative_to_project
from components.settings import Settings


@dataclass
class DependencyLayerArgs:
    settings: Settings


class DependencyLayer(pulumi.ComponentResource):
    """One layer version with Powertools, pydantic and botocore at the pinned versions, for every function.

    The archive is built by the program itself (`components.layer_build`), not taken from a layer someone else
    publishes: the functions run on AWS exactly the distributions the tests ran. Same pins, same archive
    bytes, so an unchanged stack previews without a change.
    """

    layer: aws.lambda_.LayerVersion
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: DependencyLayerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ecommerce:functions:DependencyLayer", name, None, opts)
        s = args.settings
        archive = build(lambda_target(s.runtime, s.architecture))

        self.layer = aws.lambda_.LayerVersion(
            f"{name}-layer",
            layer_name=s.name("deps"),
            description="requirements-layer.txt: Powertools, pydantic, botocore and what they import",
            compatible_runtimes=[s.runtime],
            compatible_architectures=[s.architecture],
            # Relative to the project directory (where `pulumi up` runs the program), so the state holds no
            # machine-specific path; the file name carries the build's cache key.
            code=pulumi.FileArchive(relative_to_project(archive)),
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.arn = self.layer.arn
        self.register_outputs({"arn": self.layer.arn})
