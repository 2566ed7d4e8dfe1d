variable "region" {
  description = "AWS region of the chess-ai stack."
  type        = string
  default     = "us-east-1"
}

variable "environment" {
  description = "Deployment environment (prod, staging, ...)."
  type        = string
  default     = "prod"
}

variable "project" {
  description = "Project name; prefixes every resource name."
  type        = string
  default     = "chess-ai"
}

variable "vpc_id" {
  description = "VPC that hosts the EKS cluster, the ALB and the database."
  type        = string
  default     = "vpc-0a1b2c3d4e5f67890"
}

variable "vpc_cidr" {
  description = "CIDR of the VPC; the ALB may only forward traffic inside it."
  type        = string
  default     = "10.40.0.0/16"
}

variable "private_subnet_ids" {
  description = "Private subnets (one per AZ) for nodes, pods and the database."
  type        = list(string)
  default = [
    "subnet-0a1b2c3d4e5f60001",
    "subnet-0a1b2c3d4e5f60002",
    "subnet-0a1b2c3d4e5f60003",
  ]
}

variable "public_subnet_ids" {
  description = "Public subnets (one per AZ) for the internet-facing ALB."
  type        = list(string)
  default = [
    "subnet-0a1b2c3d4e5f61001",
    "subnet-0a1b2c3d4e5f61002",
    "subnet-0a1b2c3d4e5f61003",
  ]
}

variable "domain_name" {
  description = "Public hostname of the service."
  type        = string
  default     = "chess-ai.example.com"
}

variable "route53_zone_id" {
  description = "Hosted zone of domain_name (DNS validation and the ALB alias)."
  type        = string
  default     = "Z0123456789ABCDEFGHIJ"
}

variable "db_instance_class" {
  description = "RDS instance class of the PostgreSQL database."
  type        = string
  default     = "db.r6g.large"
}

variable "db_allocated_storage" {
  description = "Initial database storage in GiB; autoscaling may grow it to db_max_allocated_storage."
  type        = number
  default     = 100
}

variable "db_max_allocated_storage" {
  description = "Upper bound for RDS storage autoscaling in GiB."
  type        = number
  default     = 500
}

variable "db_rotation_lambda_arn" {
  description = "Secrets Manager rotation Lambda (PostgreSQL single-user template) for the app credentials."
  type        = string
  default     = "arn:aws:lambda:us-east-1:123456789012:function:chess-ai-prod-db-rotation"
}

variable "node_role_arn" {
  description = "IAM role assumed by the EKS worker nodes."
  type        = string
  default     = "arn:aws:iam::123456789012:role/chess-ai-prod-eks-node"
}

variable "node_instance_types" {
  description = "Instance types of the general node group."
  type        = list(string)
  default     = ["m6i.xlarge"]
}

variable "alarm_sns_topic_arn" {
  description = "SNS topic wired to PagerDuty; receives alarm and OK notifications."
  type        = string
  default     = "arn:aws:sns:us-east-1:123456789012:chess-ai-prod-alerts"
}

variable "latency_alarm_threshold_seconds" {
  description = "p95 ALB TargetResponseTime (seconds) above which on-call is paged."
  type        = number
  default     = 1.0
}

variable "error_5xx_alarm_threshold" {
  description = "Target 5xx responses per 5 minutes above which on-call is paged."
  type        = number
  default     = 50
}
