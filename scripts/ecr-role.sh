#!/usr/bin/env bash
# Create (or check) an IAM role that may only read ECR, for AWS_ROLE_ARN, and print the .updater.env lines.
#   scripts/ecr-role.sh --region eu-west-1 [--role-name docker-image-updater-ecr-read] [--principal ARN]
# --principal is who may assume the role (default: this account's root, i.e. its IAM users and roles).
set -euo pipefail
# shellcheck source=scripts/role_common.sh
. "$(dirname "$0")/role_common.sh"

POLICY_ARN="arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"  # read-only: pull, list, describe
role="docker-image-updater-ecr-read"; region="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}"; principal=""
while [ "$#" -gt 0 ]; do
  case "$1" in
    --region) region="$2"; shift 2 ;;
    --role-name) role="$2"; shift 2 ;;
    --principal) principal="$2"; shift 2 ;;
    *) die "unknown argument $1" ;;
  esac
done
need aws "install the AWS CLI (https://aws.amazon.com/cli/) and configure credentials that may manage IAM"
[ -n "$region" ] || die "--region is required (the region of your ECR registry)"

account=$(aws sts get-caller-identity --query Account --output text) \
  || die "AWS credentials are missing or invalid: run 'aws configure' or set AWS_PROFILE"
principal="${principal:-arn:aws:iam::${account}:root}"
trust=$(printf '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"%s"},"Action":"sts:AssumeRole"}]}' "$principal")

if aws iam get-role --role-name "$role" >/dev/null 2>&1; then
  echo "role $role exists: checking its policy" >&2
else
  aws iam create-role --role-name "$role" --assume-role-policy-document "$trust" \
    --description "Docker Image Updater: read-only ECR" >/dev/null \
    || die "cannot create role $role: your identity needs iam:CreateRole"
fi
aws iam attach-role-policy --role-name "$role" --policy-arn "$POLICY_ARN" \
  || die "cannot attach $POLICY_ARN: your identity needs iam:AttachRolePolicy"
aws ecr describe-repositories --region "$region" --max-items 1 >/dev/null \
  || die "ECR is not readable in $region with these credentials"

emit AWS_ROLE_ARN "arn:aws:iam::${account}:role/${role}"
emit AWS_REGION "$region"
emit ECR_REGISTRY "${account}.dkr.ecr.${region}.amazonaws.com"
