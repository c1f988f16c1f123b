"""AWS on-demand prices the plan's cost estimate uses: a small dated table, never a guess.

Source: the AWS pricing pages, Linux on-demand, USD, per hour unless stated:
- EC2 instances: https://aws.amazon.com/ec2/pricing/on-demand/ (us-east-1 and us-west-2 list the same price for
  every type below);
- NAT gateway: https://aws.amazon.com/vpc/pricing/ (per gateway-hour; data processed per GB is not estimated);
- Network / Classic Load Balancer: https://aws.amazon.com/elasticloadbalancing/pricing/ (per LB-hour; LCU /
  data charges depend on traffic and are not estimated);
- EKS control plane, standard support: https://aws.amazon.com/eks/pricing/;
- EBS gp3 storage (node root volumes): https://aws.amazon.com/ebs/pricing/ (per GB-month).

Transcribed by hand as of `AS_OF` (not fetched at run time: there is no network in CI or offline plans).
Instance types or regions missing here are reported as unpriced, never estimated. To add one, copy its price
from the page above for every region listed and keep `AS_OF` honest.

Spot capacity has no fixed price (it follows the market); `serving.plan.cost` reports a spot pool as an upper
bound at the on-demand price of its most expensive instance type (the default maximum price of a spot request).
"""

from __future__ import annotations

from typing import Optional

#: When the table was last compared with the pages above.
AS_OF = "2026-06"
SOURCE = "AWS on-demand pricing pages (EC2, VPC NAT gateway, ELB, EKS, EBS), Linux, USD"
#: AWS bills "per month" as 730 hours.
HOURS_PER_MONTH = 730

#: Instance type -> on-demand USD per hour, same in every region of `REGIONS`.
_EC2_HOURLY: dict[str, float] = {
    # General purpose (system pool).
    "m7i.large": 0.1008,
    "m7i.xlarge": 0.2016,
    "m7i.2xlarge": 0.4032,
    "m7i.4xlarge": 0.8064,
    "m6i.large": 0.096,
    "m6i.xlarge": 0.192,
    "m6i.2xlarge": 0.384,
    # NVIDIA T4 (g4dn).
    "g4dn.xlarge": 0.526,
    "g4dn.2xlarge": 0.752,
    "g4dn.4xlarge": 1.204,
    "g4dn.12xlarge": 3.912,
    # NVIDIA A10G (g5).
    "g5.xlarge": 1.006,
    "g5.2xlarge": 1.212,
    "g5.4xlarge": 1.624,
    "g5.8xlarge": 2.448,
    "g5.12xlarge": 5.672,
    "g5.48xlarge": 16.288,
    # NVIDIA L4 (g6).
    "g6.xlarge": 0.8048,
    "g6.2xlarge": 0.9776,
    "g6.4xlarge": 1.3232,
    "g6.12xlarge": 4.6016,
    # NVIDIA L40S (g6e).
    "g6e.xlarge": 1.861,
    "g6e.2xlarge": 2.24208,
}

#: Regions whose prices are in this table (all items above have the same price in each).
REGIONS: tuple[str, ...] = ("us-east-1", "us-west-2")

NAT_GATEWAY_HOURLY = 0.045
NLB_HOURLY = 0.0225
CLASSIC_LB_HOURLY = 0.025
EKS_CONTROL_PLANE_HOURLY = 0.10
GP3_GB_MONTH = 0.08


def _in_region(region: str, price: float) -> Optional[float]:
    return price if region in REGIONS else None


def instance_hourly(instance_type: str, region: str) -> Optional[float]:
    """On-demand USD/hour of an instance type in a region, or None when the table does not have it."""
    price = _EC2_HOURLY.get(instance_type)
    return None if price is None else _in_region(region, price)


def nat_gateway_hourly(region: str) -> Optional[float]:
    return _in_region(region, NAT_GATEWAY_HOURLY)


def load_balancer_hourly(kind: str, region: str) -> Optional[float]:
    """`kind`: "nlb" or "classic"."""
    return _in_region(region, NLB_HOURLY if kind == "nlb" else CLASSIC_LB_HOURLY)


def eks_control_plane_hourly(region: str) -> Optional[float]:
    return _in_region(region, EKS_CONTROL_PLANE_HOURLY)


def gp3_gib_hourly(region: str) -> Optional[float]:
    """gp3 storage per GiB and hour (the page's GB-month price over 730 hours; AWS bills GB as GiB)."""
    price = _in_region(region, GP3_GB_MONTH)
    return None if price is None else price / HOURS_PER_MONTH


def known_instance_types() -> list[str]:
    return sorted(_EC2_HOURLY)
