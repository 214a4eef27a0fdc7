//! Scaled and quorum groups: growing, shrinking in ID order, replacing lost members, retrying failed provisions.

use anyhow::Result;
use deploykit_host::{CONFIG_HASH_TAG, DestroyReason, GROUP_TAG, LOGICAL_ID_TAG, Tags};
use deploykit_tests::groups::{GroupFixture, sim_spec, wait_for};
use deploykit_tests::sim::{Event, Sim};

use super::{NO_UPDATING, destroyed, position, size};

#[test]
fn a_scaled_group_grows_and_shrinks_in_id_order() -> Result<()> {
    let f = GroupFixture::new()?;
    let group = f.group()?;
    let plan = group.commit_group(&sim_spec("web", &size(3), "v1", NO_UPDATING), false)?;
    assert_eq!(plan, "Managing 3 instances");
    f.converged("web")?;
    let instances = f.sim.instances();
    assert_eq!(instances.len(), 3);
    let hash = instances["sim-0001"].tags[CONFIG_HASH_TAG].clone();
    for i in instances.values() {
        assert_eq!(i.tags[GROUP_TAG], "web");
        assert_eq!(i.tags[CONFIG_HASH_TAG], hash);
        assert_eq!(
            i.tags["flavor"], "web/3",
            "Index{{Group, Sequence: target size}}"
        );
        assert_eq!(
            i.spec.properties.as_ref().map(|p| p.as_str()),
            Some(r#"{"note":"v1"}"#)
        );
        assert_eq!(i.logical_id, None);
    }

    group.set_size("web", 5)?;
    assert_eq!(group.size("web")?, 5);
    f.converged("web")?;
    assert_eq!(f.sim.instances().len(), 5);

    group.set_size("web", 2)?;
    f.converged("web")?;
    let left: Vec<String> = f.sim.instances().into_keys().collect();
    assert_eq!(left, ["sim-0004", "sim-0005"], "the lowest IDs go first");
    let events = f.sim.events();
    assert_eq!(
        destroyed(&events, DestroyReason::Terminate).len(),
        3,
        "{events:#?}"
    );
    for id in ["sim-0001", "sim-0002", "sim-0003"] {
        let drained = position(&events, &Event::Drained(id.into()));
        let gone = position(
            &events,
            &Event::Destroyed(id.into(), DestroyReason::Terminate),
        );
        assert!(drained < gone, "{id} is drained before it is destroyed");
    }
    Ok(())
}

#[test]
fn a_quorum_group_keeps_one_member_per_logical_id() -> Result<()> {
    let f = GroupFixture::new()?;
    let group = f.group()?;
    let ids = r#"{"LogicalIDs":["a","b","c"]}"#;
    let plan = group.commit_group(&sim_spec("zk", ids, "v1", NO_UPDATING), false)?;
    assert_eq!(plan, "Managing 3 instances");
    f.converged("zk")?;
    let by_logical = |sim: &Sim| -> Vec<(String, String)> {
        sim.instances()
            .into_iter()
            .map(|(id, i)| (i.logical_id.unwrap_or_default(), id))
            .collect::<std::collections::BTreeMap<_, _>>()
            .into_iter()
            .collect()
    };
    let before = by_logical(&f.sim);
    assert_eq!(
        before.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>(),
        ["a", "b", "c"]
    );
    for i in f.sim.instances().values() {
        assert_eq!(i.tags.get(LOGICAL_ID_TAG), i.logical_id.as_ref());
    }

    // A member dies: the quorum replaces it under the same logical ID.
    let b = before[1].1.clone();
    assert!(f.sim.kill(&b));
    wait_for("b to be replaced", || {
        let now = by_logical(&f.sim);
        now.len() == 3 && now[1].0 == "b" && now[1].1 != b
    })?;
    f.converged("zk")?;

    // A member with a logical ID outside the list is terminated.
    let stray = f.sim.add(
        Tags::from([
            (GROUP_TAG.into(), "zk".into()),
            (LOGICAL_ID_TAG.into(), "z".into()),
        ]),
        None,
    );
    wait_for("the stray member to go", || {
        !f.sim.instances().contains_key(&stray)
    })?;

    assert_eq!(group.size("zk")?, 3);
    assert_eq!(
        group.set_size("zk", 5).unwrap_err().to_string(),
        "cannot set size if logic ids are explicitly set"
    );
    let changed = sim_spec("zk", r#"{"LogicalIDs":["a","b","d"]}"#, "v1", NO_UPDATING);
    assert_eq!(
        group.commit_group(&changed, false).unwrap_err().to_string(),
        "Logical ID changes to a quorum is not currently supported"
    );
    Ok(())
}

#[test]
fn destroy_instances_ignores_non_members_but_still_shrinks() -> Result<()> {
    let f = GroupFixture::new()?;
    let group = f.group()?;
    group.commit_group(&sim_spec("web", &size(3), "v1", NO_UPDATING), false)?;
    f.converged("web")?;
    group.destroy_instances("web", &["sim-0001".into(), "not-a-member".into()])?;
    assert_eq!(group.size("web")?, 1, "3 - 2 IDs given, members or not");
    f.converged("web")?;
    assert_eq!(f.sim.instances().keys().collect::<Vec<_>>(), ["sim-0003"]);
    Ok(())
}

#[test]
fn failed_provisions_are_retried_and_the_group_is_kept() -> Result<()> {
    let f = GroupFixture::new()?;
    let group = f.group()?;
    f.sim.fail_provisions(true);
    let plan = group.commit_group(&sim_spec("web", &size(2), "v1", NO_UPDATING), false)?;
    assert_eq!(plan, "Managing 2 instances");
    wait_for("several failed polls", || {
        f.sim
            .events()
            .iter()
            .filter(|e| **e == Event::ProvisionFailed)
            .count()
            >= 6
    })?;
    let described = group.describe_group("web")?;
    assert!(described.instances.is_empty() && !described.converged);
    assert_eq!(group.inspect_groups()?.len(), 1, "the group is kept");

    f.sim.fail_provisions(false);
    f.converged("web")?;
    assert_eq!(f.sim.instances().len(), 2);
    Ok(())
}

#[test]
fn bootstrap_instances_are_adopted_by_relabelling() -> Result<()> {
    let f = GroupFixture::new()?;
    let seed = f.sim.add(
        Tags::from([
            (GROUP_TAG.into(), "web".into()),
            (CONFIG_HASH_TAG.into(), "bootstrap".into()),
        ]),
        None,
    );
    f.group()?
        .commit_group(&sim_spec("web", &size(2), "v1", NO_UPDATING), false)?;
    f.converged("web")?;
    let instances = f.sim.instances();
    assert_eq!(instances.len(), 2);
    assert_ne!(instances[&seed].tags[CONFIG_HASH_TAG], "bootstrap");
    assert_eq!(
        instances[&seed].tags[CONFIG_HASH_TAG],
        instances["sim-0002"].tags[CONFIG_HASH_TAG]
    );
    assert!(f.sim.events().contains(&Event::Labelled(seed)));
    Ok(())
}
