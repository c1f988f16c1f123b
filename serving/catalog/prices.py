"""AWS on-demand prices the plan's cost estimate uses: a small dated table, never a guess.

Prices are Linux on-demand, USD, per hour unless stated. Their home is the AWS pricing pages:
- EC2 instances: https://aws.amazon.com/ec2/pricing/on-demand/
- NAT gateway: https://aws.amazon.com/vpc/pricing/ (per gateway-hour; data processed per GB is not estimated)
- Network / Classic Load Balancer: https://aws.amazon.com/elasticloadbalancing/pricing/ (per LB-hour; LCU /
  data charges depend on traffic and are not estimated)
- EKS control plane, standard support: https://aws.amazon.com/eks/pricing/
- EBS gp3 storage (node root volumes): https://aws.amazon.com/ebs/pricing/ (per GB-month)

Those pages render their tables with JavaScript from AWS's price-list API and cannot be read offline, so every
row below says what it was checked against (`Price.checked`): the stored public web pages and the public code
index searched from this repository (third-party price tables that quote the AWS list price). `AS_OF` is when
that check was made. A row or region that could not be checked says so (`Price.unverified`) and the plan prints
that note next to the estimate; nothing is filled in by arithmetic or by analogy.

Instance types or regions missing here are reported as unpriced, never estimated. To add one, copy its price
from the pages above for every region in `REGIONS` and record where you checked it.

Spot capacity has no fixed price (it follows the market); `serving.plan.compute.cost` reports a spot pool as an upper
bound at the on-demand price of its most expensive instance type (the default maximum price of a spot request).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

#: When the table was last checked (see each row's `checked`).
AS_OF = "2026-11"
SOURCE = "AWS on-demand list prices (EC2, VPC NAT gateway, ELB, EKS, EBS), Linux, USD"
#: AWS bills "per month" as 730 hours.
HOURS_PER_MONTH = 730

#: Regions the table prices. us-east-1 is checked row by row; us-west-2 uses the same prices, which the sources
#: found offline do not confirm (see `UNVERIFIED_REGIONS`).
REGIONS: tuple[str, ...] = ("us-east-1", "us-west-2")
UNVERIFIED_REGIONS: Mapping[str, str] = {
    "us-west-2": ("us-west-2 prices are taken equal to us-east-1 and were not verified: no us-west-2 price table "
                  "for these items was found in the sources searchable offline (one third-party table claims parity "
                  "for m5; kops notes quote $0.025/h for a Classic LB there)"),
}


@dataclass(frozen=True)
class Price:
    usd: float
    #: What the price was compared with, and where.
    checked: str = ""
    #: Why it could not be verified (empty when `checked` confirms it).
    unverified: str = ""


# Sources, named once. "code index" = public GitHub files found with the repository's `find_string` tool (ids
# are the index's file ids); each quotes the us-east-1 list price in a price table of its own.
_GPU_TABLES = ("code index: independent us-east-1 price tables (files 69328628875, 68449185741, 26938186317, "
               "64178981852) agree")
_M7I_TABLES = "code index: independent us-east-1 price tables (files 60880687270, 53774999105, 26644459138, 54214037811) agree"
_M6I_TABLES = "code index: us-east-1 price tables (files 64178981852, 51954204635, 26644459138, 54214037811) agree"

#: Instance type -> us-east-1 on-demand price (the same price is used for the other `REGIONS`).
_EC2: dict[str, Price] = {
    # General purpose (system pool).
    "m7i.large": Price(0.1008, _M7I_TABLES + "; also c3x.dev/blog/m5-vs-m6i-vs-m7i-cost-performance (m7i.xlarge $0.2016)"),
    "m7i.xlarge": Price(0.2016, _M7I_TABLES + "; c3x.dev/blog/m5-vs-m6i-vs-m7i-cost-performance: $0.2016/hour us-east-1"),
    "m7i.2xlarge": Price(0.4032, _M7I_TABLES),
    "m7i.4xlarge": Price(0.8064, _M7I_TABLES),
    "m6i.large": Price(0.096, _M6I_TABLES),
    "m6i.xlarge": Price(0.192, _M6I_TABLES + "; c3x.dev/blog/m5-vs-m6i-vs-m7i-cost-performance: $0.192/hour us-east-1"),
    "m6i.2xlarge": Price(0.384, _M6I_TABLES),
    # NVIDIA T4 (g4dn).
    "g4dn.xlarge": Price(0.526, _GPU_TABLES),
    "g4dn.2xlarge": Price(0.752, _GPU_TABLES),
    "g4dn.4xlarge": Price(1.204, _GPU_TABLES),
    "g4dn.12xlarge": Price(3.912, _GPU_TABLES),
    # NVIDIA A10G (g5).
    "g5.xlarge": Price(1.006, _GPU_TABLES + "; factualminds.com EC2 on-demand pricing 2026: $1.006/hr us-east-1 (June 2026)"),
    "g5.2xlarge": Price(1.212, _GPU_TABLES),
    "g5.4xlarge": Price(1.624, _GPU_TABLES),
    "g5.8xlarge": Price(2.448, _GPU_TABLES),
    "g5.12xlarge": Price(5.672, _GPU_TABLES + " (one other table lists 4.896, which is g5.16xlarge-like and an outlier)"),
    "g5.48xlarge": Price(16.288, _GPU_TABLES),
    # NVIDIA L4 (g6).
    "g6.xlarge": Price(0.8048, _GPU_TABLES + " (some round it to 0.805)"),
    "g6.2xlarge": Price(0.9776, _GPU_TABLES),
    "g6.4xlarge": Price(1.3232, _GPU_TABLES),
    "g6.12xlarge": Price(4.6016, "code index: us-east-1 price tables (files 69328628875, 68449185741) agree"),
    # NVIDIA L40S (g6e).
    "g6e.xlarge": Price(1.861, "code index: us-east-1 price tables (files 69328628875, 68449185741, 71076089106) agree"),
    "g6e.2xlarge": Price(2.24208, "code index: us-east-1 price tables (files 68449185741, 62495203885) and a run log "
                                  "quoting the AWS price catalogue (file 71602365248) agree"),
}

_LB_TABLES = ("code index: us-east-1 price tables (files 71412761433, 59126965882, 42545805302) and notes quoting the "
              "ELB pricing page (files 14332102539, 34045860297, 16305663870) agree")
NAT_GATEWAY = Price(0.045, "pages: basavytix.com/blog/aws-nat-gateway-pricing and cloudburn.io/blog/aws-nat-gateway-pricing "
                           "($0.045/hour us-east-1); code index tables (71412761433, 59126965882) agree")
NLB = Price(0.0225, _LB_TABLES)
CLASSIC_LB = Price(0.025, _LB_TABLES)
EKS_CONTROL_PLANE = Price(0.10, "pages: AWS Containers blog 'Amazon EKS extended support for Kubernetes versions "
                                "pricing' (standard support: $0.10 per cluster per hour); cloudburn.io/blog/amazon-eks-pricing")
GP3_GB_MONTH = Price(0.08, "code index: us-east-1 EBS tables (files 71412761433, 59126965882, 62416150295) agree")


def _in_region(region: str, price: Price) -> Optional[float]:
    return price.usd if region in REGIONS else None


def instance_hourly(instance_type: str, region: str) -> Optional[float]:
    """On-demand USD/hour of an instance type in a region, or None when the table does not have it."""
    price = _EC2.get(instance_type)
    return None if price is None else _in_region(region, price)


def nat_gateway_hourly(region: str) -> Optional[float]:
    return _in_region(region, NAT_GATEWAY)


def load_balancer_hourly(kind: str, region: str) -> Optional[float]:
    """`kind`: "nlb" or "classic"."""
    return _in_region(region, NLB if kind == "nlb" else CLASSIC_LB)


def eks_control_plane_hourly(region: str) -> Optional[float]:
    return _in_region(region, EKS_CONTROL_PLANE)


def gp3_gib_hourly(region: str) -> Optional[float]:
    """gp3 storage per GiB and hour (the page's GB-month price over 730 hours; AWS bills GB as GiB)."""
    price = _in_region(region, GP3_GB_MONTH)
    return None if price is None else price / HOURS_PER_MONTH


def known_instance_types() -> list[str]:
    return sorted(_EC2)


def rows() -> dict[str, Price]:
    """Every priced item with its verification record (instance types, then the fixed-rate items)."""
    return {**_EC2, "nat-gateway": NAT_GATEWAY, "nlb": NLB, "classic-lb": CLASSIC_LB,
            "eks-control-plane": EKS_CONTROL_PLANE, "gp3-gb-month": GP3_GB_MONTH}


def unverified_note(region: str) -> str:
    """What of the prices used for `region` could not be verified ("" when everything was)."""
    notes = [UNVERIFIED_REGIONS[region]] if region in UNVERIFIED_REGIONS else []
    notes += [f"{name}: {p.unverified}" for name, p in rows().items() if p.unverified]
    return "; ".join(notes)
