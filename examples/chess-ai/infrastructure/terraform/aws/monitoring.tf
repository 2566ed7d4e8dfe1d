# Alarms page on-call through the SNS topic; both watch the ALB that fronts chess-ai.

resource "aws_cloudwatch_metric_alarm" "latency" {
  alarm_name        = "${local.name}-alb-latency-p95"
  alarm_description = "p95 target response time is high (runbook: 2. High Latency)"
  namespace         = "AWS/ApplicationELB"
  metric_name       = "TargetResponseTime"
  # p95 rather than the average: a few slow engine searches hide in the mean.
  extended_statistic  = "p95"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.latency_alarm_threshold_seconds
  treat_missing_data  = "notBreaching"

  dimensions = {
    LoadBalancer = aws_lb.main.arn_suffix
  }

  alarm_actions = [var.alarm_sns_topic_arn]
  ok_actions    = [var.alarm_sns_topic_arn]
}

resource "aws_cloudwatch_metric_alarm" "errors_5xx" {
  alarm_name          = "${local.name}-alb-target-5xx"
  alarm_description   = "Targets return 5xx (runbook: 1. High Error Rate)"
  namespace           = "AWS/ApplicationELB"
  metric_name         = "HTTPCode_Target_5XX_Count"
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.error_5xx_alarm_threshold
  # No requests means no 5xx datapoints; that is not an error.
  treat_missing_data = "notBreaching"

  dimensions = {
    LoadBalancer = aws_lb.main.arn_suffix
  }

  alarm_actions = [var.alarm_sns_topic_arn]
  ok_actions    = [var.alarm_sns_topic_arn]
}
