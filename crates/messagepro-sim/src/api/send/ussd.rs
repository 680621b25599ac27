//! `send/ussd` (2.1): queues a USSD request on an own device.

use super::*;

pub(super) fn ussd(c: &mut Ctx<'_>) -> Out {
    c.need("ussd")?;
    let (Some(code), Some(sim), Some(device)) = (c.opt("code"), c.opt("sim"), c.opt("device"))
    else {
        return bail(400, INVALID);
    };
    let sim = int_rule(&sim).ok_or_else(|| fail(400, INVALID))?;
    let pkg =
        c.st.package(c.user)
            .cloned()
            .ok_or_else(|| fail(403, NOT_SUBSCRIBED_YOU))?;
    service(c, "android_ussd")?;
    if limit_reached(c.st.quota(c.user).ussd, pkg.ussd_limit) {
        return bail(403, "Maximum number of USSD requests has been reached!");
    }
    let did = own_device(c, &device)?;
    if c.st.world.settings.db_fail {
        return bail(500, WENT_WRONG);
    }
    c.st.ids.ussd += 1;
    let id = c.st.ids.ussd;
    let now = c.st.now();
    c.st.ussd.insert(
        id,
        crate::model::Ussd {
            id,
            user: c.user,
            did,
            sim: one_or_two(sim),
            code,
            response: String::new(),
            status: crate::model::UssdState::Pending,
            create_date: now,
            fetched_at: 0,
        },
    );
    ok("USSD request has been queued!", json!(false))
}
