# The EKS cluster itself is managed by the platform stack; this stack owns the
# node group that runs chess-ai.
resource "aws_eks_node_group" "general" {
  cluster_name    = local.name
  node_group_name = "general"
  node_role_arn   = var.node_role_arn
  subnet_ids      = var.private_subnet_ids

  instance_types = var.node_instance_types
  capacity_type  = "ON_DEMAND"
  disk_size      = 100

  scaling_config {
    min_size     = 3
    max_size     = 6
    desired_size = 6
  }

  # Replace nodes one at a time during AMI and Kubernetes version upgrades.
  update_config {
    max_unavailable = 1
  }

  labels = {
    workload = "general"
  }

  tags = {
    Name = "${local.name}-general"
  }
}
