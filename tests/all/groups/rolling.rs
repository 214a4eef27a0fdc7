//! Rolling updates: one member at a time in ID order, gated on health, finished by a restarted host; the config hash members carry.

use anyhow::Result;
use deploykit_host::{CONFIG_HASH_TAG, DestroyReason, GROUP_TAG, Health};
use deploykit_tests::groups::{GroupFixture, sim_spec, spec, wait_for};
use deploykit_tests::sim::Event;

use super::{NO_UPDATING, destroyed, position, size};

#[test]
fn a_rolling_update_replaces_members_one_at_a_time_gated_on_health() -> Result<()> {
    let f = GroupFixture::new()?;
    let group = f.group()?;
    let count = r#"{"Count":2}"#;
    group.commit_group(&sim_spec("web", &size(3), "v1", count), false)?;
    f.converged("web")?;

    // New members report Unknown until the test says otherwise.
    f.sim.set_default_health(Health::Unknown);
    let plan = group.commit_group(&sim_spec("web", &size(3), "v2", count), false)?;
    assert_eq!(plan, "Performing a rolling update on 3 instances");
    wait_for("the first replacement to be asked about its health", || {
        f.sim
            .events()
            .iter()
            .filter(|e| **e == Event::Health("sim-0004".into(), Health::Unknown))
            .count()
            >= 4
    })?;
    let now = f.sim.instances();
    assert!(!now.contains_key("sim-0001"), "the lowest ID went first");
    assert!(
        now.contains_key("sim-0002") && now.contains_key("sim-0003"),
        "no further member is replaced while the new one is not healthy"
    );
    assert!(!group.describe_group("web")?.converged);

    f.sim.set_default_health(Health::Healthy);
    f.converged("web")?;
    let now = f.sim.instances();
    assert_eq!(
        now.keys().collect::<Vec<_>>(),
        ["sim-0004", "sim-0005", "sim-0006"]
    );
    let hashes: std::collections::BTreeSet<_> = now
        .values()
        .map(|i| i.tags[CONFIG_HASH_TAG].clone())
        .collect();
    assert_eq!(hashes.len(), 1);

    let events = f.sim.events();
    assert_eq!(
        destroyed(&events, DestroyReason::RollingUpdate),
        ["sim-0001", "sim-0002", "sim-0003"]
    );
    assert!(destroyed(&events, DestroyReason::Terminate).is_empty());
    // Count=2: two healthy polls of the replacement in a row before the next destroy.
    let next = position(
        &events,
        &Event::Destroyed("sim-0002".into(), DestroyReason::RollingUpdate),
    );
    let healthy_in_a_row = events[..next]
        .iter()
        .rev()
        .filter(|e| matches!(e, Event::Health(id, _) if id == "sim-0004"))
        .take_while(|e| matches!(e, Event::Health(_, Health::Healthy)))
        .count();
    assert!(healthy_in_a_row >= 2, "{:#?}", &events[..next]);
    Ok(())
}

#[test]
fn a_restarted_host_finishes_a_rolling_update() -> Result<()> {
    let f = GroupFixture::new()?;
    let group = f.group()?;
    group.commit_group(&sim_spec("web", &size(3), "v1", NO_UPDATING), false)?;
    f.converged("web")?;
    let old_hash = f.sim.instances()["sim-0001"].tags[CONFIG_HASH_TAG].clone();

    f.sim.set_default_health(Health::Unknown);
    group.commit_group(&sim_spec("web", &size(3), "v2", NO_UPDATING), false)?;
    wait_for("the update to stall on the first replacement", || {
        f.sim
            .events()
            .contains(&Event::Health("sim-0004".into(), Health::Unknown))
    })?;
    drop(group);
    let f = f.restart()?;
    let mid = f.sim.instances();
    assert_eq!(
        mid.keys().collect::<Vec<_>>(),
        ["sim-0002", "sim-0003", "sim-0004"],
        "stopped mid-update: two old members and one new"
    );

    f.sim.set_default_health(Health::Healthy);
    f.converged("web")?;
    let done = f.sim.instances();
    assert_eq!(
        done.keys().collect::<Vec<_>>(),
        ["sim-0004", "sim-0005", "sim-0006"],
        "no orphan and no duplicate"
    );
    assert!(
        done.values()
            .all(|i| i.tags[GROUP_TAG] == "web" && i.tags[CONFIG_HASH_TAG] != old_hash)
    );
    let events = f.sim.events();
    assert_eq!(
        destroyed(&events, DestroyReason::RollingUpdate),
        ["sim-0001", "sim-0002", "sim-0003"]
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, Event::Provisioned(_)))
            .count(),
        6
    );
    Ok(())
}

/// The three vectors of the spec (§6), end to end: the simulator registered
/// as `file` and `vanilla` tags members exactly as InfraKit's controller would.
#[test]
fn members_carry_infrakits_config_hash() -> Result<()> {
    let f = GroupFixture::new()?;
    f.sim.register(&f.host, "file", "vanilla");
    let group = f.group()?;
    let vanilla =
        r#"{"Plugin":"vanilla","Properties":{"Init":["echo hello"],"Tags":{"tier":"web"}}}"#;
    for (id, instance, flavor, hash) in [
        (
            "v1",
            r#"{"Plugin":"file","Properties":{"note":"v1"}}"#,
            vanilla,
            "xnhzyp5zgt5xgyeu47ajojm6ezgxnxv5",
        ),
        (
            "v2",
            r#"{"Plugin":"file","Properties":{"note":"v2"}}"#,
            vanilla,
            "2pkv6hhzxxw42vefhgzdvmn4d46dedgf",
        ),
        (
            "empty",
            r#"{"Plugin":"file","Properties":{}}"#,
            r#"{"Plugin":"vanilla","Properties":{}}"#,
            "4zrcjpqw3gmanosfmphcbu44zq27oqyy",
        ),
    ] {
        let properties =
            format!(r#"{{"Allocation":{{"Size":1}},"Instance":{instance},"Flavor":{flavor}}}"#);
        group.commit_group(&spec(id, &properties), false)?;
        f.converged(id)?;
        let members = f.sim.tagged(GROUP_TAG, id);
        assert_eq!(members.len(), 1);
        assert_eq!(f.sim.instances()[&members[0]].tags[CONFIG_HASH_TAG], hash);
    }
    Ok(())
}
