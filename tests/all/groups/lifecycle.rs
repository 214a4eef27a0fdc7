//! A group's life: validation, pretend, free and re-commit, destroy, and what survives a restart.

use anyhow::Result;
use deploykit_host::{DestroyReason, GROUP_TAG, GroupOptions, Host, StateStore};
use deploykit_tests::groups::{GroupFixture, sim_spec, spec, start_controller, wait_for};
use deploykit_tests::sim::Event;

use super::{NO_UPDATING, position, size};

#[test]
fn commits_are_validated_before_anything_changes() -> Result<()> {
    let f = GroupFixture::new()?;
    let group = f.group()?;
    let refused = |properties: &str| {
        group
            .commit_group(&spec("g", properties), false)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        group
            .commit_group(&spec("", "{}"), false)
            .unwrap_err()
            .to_string(),
        "Group ID must not be blank"
    );
    assert_eq!(refused("{}"), "Allocation must not be blank");
    assert_eq!(
        refused(r#"{"Allocation":{"Size":1,"LogicalIDs":["a"]}}"#),
        "Only one Allocation method may be used"
    );
    assert_eq!(
        refused(r#"{"Allocation":{"Size":1},"Updating":{"Count":1,"Duration":"1s"}}"#),
        "Only one Updating method may be used"
    );
    assert!(
        refused(r#"{"Allocation":{"Size":1},"Instance":{"Plugin":"nope"},"Flavor":{"Plugin":"sim-flavor"}}"#)
            .starts_with("Failed to find Instance plugin 'nope':")
    );
    let flavor_says_no = refused(
        r#"{"Allocation":{"Size":1},"Instance":{"Plugin":"sim"},"Flavor":{"Plugin":"sim-flavor","Properties":{"invalid":true}}}"#,
    );
    assert!(
        flavor_says_no.contains("the flavor refuses these properties"),
        "{flavor_says_no}"
    );
    assert!(group.inspect_groups()?.is_empty());
    assert!(f.sim.events().is_empty());
    Ok(())
}

#[test]
fn pretend_plans_without_side_effects() -> Result<()> {
    let f = GroupFixture::new()?;
    let group = f.group()?;
    let v1 = sim_spec("web", &size(2), "v1", NO_UPDATING);
    assert_eq!(group.commit_group(&v1, true)?, "Managing 2 instances");
    assert!(group.inspect_groups()?.is_empty());
    assert!(f.sim.events().is_empty());

    group.commit_group(&v1, false)?;
    f.converged("web")?;
    let before = f.sim.events().len();
    let v2 = sim_spec("web", &size(2), "v2", NO_UPDATING);
    assert_eq!(
        group.commit_group(&v2, true)?,
        "Performing a rolling update on 2 instances"
    );
    assert_eq!(
        group.commit_group(&sim_spec("web", &size(4), "v1", NO_UPDATING), true)?,
        "Adding 2 instances to increase the group size to 4"
    );
    assert_eq!(group.commit_group(&v1, true)?, "Noop");
    let inspected = group.inspect_groups()?;
    assert!(inspected[0].properties.as_str().contains(r#""note":"v1""#));
    assert_eq!(group.size("web")?, 2);

    // Nothing was stored either: a restarted host still has v1.
    let f = f.restart()?;
    f.converged("web")?;
    assert!(
        !f.sim.events()[before..]
            .iter()
            .any(|e| matches!(e, Event::Provisioned(_) | Event::Destroyed(..)))
    );
    let inspected = f.group()?.inspect_groups()?;
    assert!(inspected[0].properties.as_str().contains(r#""note":"v1""#));
    Ok(())
}

#[test]
fn free_leaves_the_instances_and_a_new_commit_adopts_them() -> Result<()> {
    let f = GroupFixture::new()?;
    let group = f.group()?;
    let web = sim_spec("web", &size(2), "v1", NO_UPDATING);
    group.commit_group(&web, false)?;
    f.converged("web")?;
    let before = f.sim.instances();
    let events = f.sim.events().len();

    group.free_group("web")?;
    assert!(group.inspect_groups()?.is_empty());
    assert_eq!(
        group.describe_group("web").unwrap_err().to_string(),
        "Group 'web' is not being watched"
    );
    assert_eq!(f.sim.instances(), before, "free touches no instance");
    assert_eq!(f.sim.events().len(), events);

    assert_eq!(group.commit_group(&web, false)?, "Managing 2 instances");
    f.converged("web")?;
    assert_eq!(f.sim.instances(), before, "the same two members, adopted");
    assert!(
        !f.sim.events()[events..]
            .iter()
            .any(|e| matches!(e, Event::Provisioned(_) | Event::Destroyed(..)))
    );
    Ok(())
}

#[test]
fn destroy_drains_and_destroys_every_member() -> Result<()> {
    let f = GroupFixture::new()?;
    let group = f.group()?;
    group.commit_group(&sim_spec("web", &size(3), "v1", NO_UPDATING), false)?;
    f.converged("web")?;
    group.destroy_group("web")?;
    assert!(f.sim.instances().is_empty());
    let events = f.sim.events();
    for id in ["sim-0001", "sim-0002", "sim-0003"] {
        assert!(
            position(&events, &Event::Drained(id.into()))
                < position(
                    &events,
                    &Event::Destroyed(id.into(), DestroyReason::Terminate)
                )
        );
    }
    assert!(group.inspect_groups()?.is_empty());
    assert_eq!(
        group.destroy_group("web").unwrap_err().to_string(),
        "Group 'web' is not being watched"
    );
    Ok(())
}

#[test]
fn committed_groups_resume_after_a_restart_and_freed_ones_do_not() -> Result<()> {
    let f = GroupFixture::new()?;
    let group = f.group()?;
    group.commit_group(&sim_spec("a", &size(1), "v1", NO_UPDATING), false)?;
    group.commit_group(&sim_spec("b", &size(1), "v1", NO_UPDATING), false)?;
    f.converged("a")?;
    f.converged("b")?;
    group.free_group("b")?;
    drop(group);

    let f = f.restart()?;
    let group = f.group()?;
    let ids: Vec<String> = group.inspect_groups()?.into_iter().map(|s| s.id).collect();
    assert_eq!(ids, ["a"]);
    let a = f.sim.tagged(GROUP_TAG, "a");
    assert!(f.sim.kill(&a[0]));
    wait_for("group a to be repaired after the restart", || {
        f.sim.tagged(GROUP_TAG, "a").len() == 1
    })?;
    assert_eq!(f.sim.tagged(GROUP_TAG, "b").len(), 1, "b is left alone");
    Ok(())
}

#[test]
fn a_corrupt_state_file_is_an_error_naming_it_and_is_left_alone() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join(StateStore::FILE);
    let notes = b"not a database, but somebody's notes\n".repeat(200);
    std::fs::write(&file, &notes)?;
    let host = Host::builder().build()?;
    let err = start_controller(&host, dir.path(), GroupOptions::default())
        .err()
        .expect("a corrupt state file is refused");
    let message = format!("{err:#}");
    assert!(message.contains(&file.display().to_string()), "{message}");
    assert_eq!(std::fs::read(&file)?, notes, "nothing is overwritten");
    Ok(())
}

/// The registry holds the controller and the controller holds the host only
/// weakly: dropping every handle of the host stops the controller and frees
/// the state folder, with no explicit shutdown.
#[test]
fn dropping_the_host_stops_the_controller_and_frees_the_state() -> Result<()> {
    let sim = deploykit_tests::sim::Sim::new();
    let dir = tempfile::tempdir()?;
    let host = Host::builder().build()?;
    sim.register(&host, "sim", "sim-flavor");
    let options = GroupOptions::default().poll_interval(deploykit_tests::groups::POLL);
    let controller = start_controller(&host, dir.path(), options)?;
    host.group("group")?
        .commit_group(&sim_spec("web", &size(1), "v1", NO_UPDATING), false)?;
    wait_for("the member", || sim.instances().len() == 1)?;
    drop(controller);
    drop(host);
    wait_for("the state folder to be free", || {
        StateStore::open(dir.path()).is_ok()
    })?;
    Ok(())
}
