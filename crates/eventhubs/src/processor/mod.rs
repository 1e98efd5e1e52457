//! The event processor: partitions of a hub balanced across processes, with ownership and
//! checkpoints in a [`CheckpointStore`](crate::CheckpointStore). Built in steps; today the
//! load balancer.

pub(crate) mod load_balancer;
