#!/usr/bin/env python3
"""Writes ddvla's four LIBERO-style suites (BDDL files + suite.toml) into this folder.

The suites mirror LIBERO's structure with our own objects (tasks/src/catalog):
  libero_style_spatial  same objects, different layouts; "pick up the black bowl <where> and
                        place it on the plate" (goal: (On akita_black_bowl_1 plate_1))
  libero_style_object   different target objects into a basket (goal: (In <obj> basket_1_contain_region))
  libero_style_goal     one scene, ten goals (drawer, stove, rack, plate, bowl)
  libero_style_long     two-stage goals
Positions are (x, y) in metres relative to the workspace offset (suite.toml [scene]); every
object gets a +-1 cm init range. Run from anywhere: python3 tasks/suites/make_suites.py
Then regenerate init states: ddvla tasks init-states --suite <name>.
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
JITTER = 0.01
# Fixtures stand where the Panda reaches their tops with the gripper pointing down (a wine
# bottle lifted onto the cabinet, pots onto the stove) and works their drawers and knob.
CABINET = (0.1, -0.36)
STOVE = (0.12, 0.36)
RACK = (0.22, 0.0)
# Where an open drawer of the cabinet (with its handle) sticks out (kept free of objects).
DRAWER_OUT = (CABINET[0] - 0.25, CABINET[1])
# In front of the stove (the plate is pushed there).
STOVE_FRONT = (STOVE[0] - 0.24, STOVE[1])

PROTOCOL = {"libero_style_spatial": 220, "libero_style_object": 280,
            "libero_style_goal": 300, "libero_style_long": 520}
DESCRIPTION = {
    "libero_style_spatial": "same objects in different layouts: which black bowl goes on the plate",
    "libero_style_object": "different grocery objects into the basket",
    "libero_style_goal": "one scene, ten goals: drawers, stove knob, rack, plate, bowl",
    "libero_style_long": "two-stage goals",
}


# Footprint radii (m) of the catalog categories (tasks/src/catalog; `ddvla tasks list` prints them).
FOOTPRINT = {"wooden_cabinet": 0.23, "flat_stove": 0.18, "wine_rack": 0.13, "basket": 0.13,
             "akita_black_bowl": 0.035, "plate": 0.07, "glazed_rim_porcelain_ramekin": 0.03, "cookies": 0.068,
             "alphabet_soup": 0.033, "tomato_sauce": 0.03, "cream_cheese": 0.047, "butter": 0.056,
             "chocolate_pudding": 0.047, "salad_dressing": 0.03, "bbq_sauce": 0.03, "ketchup": 0.03, "milk": 0.043,
             "orange_juice": 0.043, "wine_bottle": 0.034, "moka_pot": 0.057, "porcelain_mug": 0.054,
             "white_yellow_mug": 0.054, "red_coffee_mug": 0.054,
             "drawer_open": 0.13}
PROBLEMS = []


AUTO = "auto"
# Where objects marked AUTO may go (reachable from above by the Panda, on the table).
SPOTS = [(round(-0.16 + 0.02 * i, 2), round(-0.28 + 0.02 * j, 2)) for i in range(15) for j in range(29)]
# Scenes with fixtures also use the table nearer the robot (still reachable from above).
WIDE_SPOTS = [(round(-0.24 + 0.02 * i, 2), round(-0.28 + 0.02 * j, 2)) for i in range(19) for j in range(29)]


def need(ca, cb, ja, jb):
    return FOOTPRINT[ca] + FOOTPRINT[cb] + 0.01 + 1.42 * (ja + jb)


def auto_layout(fixtures, objects, keep_out=()):
    """Objects at AUTO go to the free spot farthest from everything already placed."""
    spots = WIDE_SPOTS if fixtures else SPOTS
    placed = [(c, xy, 0.0) for _, c, xy in fixtures] + [(c, xy, 0.0) for c, xy in keep_out]
    placed += [(c, xy, JITTER) for _, c, xy in objects if xy not in (None, AUTO)]
    out = []
    for inst, cat, xy in objects:
        if xy == AUTO:
            best, best_d = None, -1.0
            for spot in spots:
                margins = [((spot[0] - p[0]) ** 2 + (spot[1] - p[1]) ** 2) ** 0.5 - need(cat, c, JITTER, j)
                           for c, p, j in placed]
                m = min(margins) if margins else 1.0
                if m >= 0 and m > best_d:
                    best, best_d = spot, m
            if best is None:
                PROBLEMS.append(f"no spot for {inst}")
                best = (0.0, 0.0)
            xy = best
            placed.append((cat, xy, JITTER))
        out.append((inst, cat, xy))
    return out


def check_layout(task, placed):
    """Every pair of table placements keeps the sampler's 1 cm gap even at the worst jitter
    (fixtures are not checked against each other: they are fixed, not sampled)."""
    for i, (a, ca, pa, ja) in enumerate(placed):
        for b, cb, pb, jb in placed[i + 1:]:
            if ja == 0.0 and jb == 0.0:
                continue
            d = ((pa[0] - pb[0]) ** 2 + (pa[1] - pb[1]) ** 2) ** 0.5
            need = FOOTPRINT[ca] + FOOTPRINT[cb] + 0.01 + 1.42 * (ja + jb)
            if d < need:
                PROBLEMS.append(f"{task}: {a} {pa} and {b} {pb} are {d:.3f} apart, need {need:.3f}")


def region(name, xy, jitter=JITTER, yaw=None):
    x, y = xy
    s = f"      ({name} (:target main_table) (:ranges (({x - jitter:.3f} {y - jitter:.3f} {x + jitter:.3f} {y + jitter:.3f})))"
    if yaw is not None:
        s += f" (:yaw_rotation (({yaw[0]} {yaw[1]})))"
    return s + ")"


def bddl(language, fixtures, objects, placements, goal, extra_regions=(), site_regions=(), init_extra=(),
         keep_out=(), jitter=JITTER):
    """fixtures/objects: [(instance, category, xy, AUTO or None)]; placements: extra init atoms."""
    objects = auto_layout(fixtures, objects, keep_out)
    regions, init = [], []
    for inst, cat, xy in fixtures:
        regions.append(region(f"{inst}_init_region", xy, jitter=0.0))
        init.append(f"(On {inst} main_table_{inst}_init_region)")
    for inst, cat, xy in objects:
        if xy is not None:
            yaw = (-0.4, 0.4) if cat not in ("akita_black_bowl", "plate", "glazed_rim_porcelain_ramekin") else None
            regions.append(region(f"{inst}_init_region", xy, jitter=jitter, yaw=yaw))
            init.append(f"(On {inst} main_table_{inst}_init_region)")
    regions += [region(n, xy, jitter=j) for n, xy, j in extra_regions]
    regions += [f"      ({r} (:target {t}))" for r, t in site_regions]
    init += list(placements) + list(init_extra)
    check_layout(language, [(i, c, xy, 0.0) for i, c, xy in fixtures]
                 + [(i, c, xy, jitter) for i, c, xy in objects if xy is not None])
    fx = " ".join(f"{i} - {c}" for i, c, _ in [("main_table", "table", None)] + list(fixtures))
    ob = " ".join(f"{i} - {c}" for i, c, _ in objects)
    interest = sorted({a for g in goal for a in g.strip("()").split()[1:]})
    return f"""(define (problem LIBERO_Tabletop_Manipulation)
  (:domain robosuite)
  (:language {language})
    (:regions
{chr(10).join(regions)}
    )

  (:fixtures
    {fx}
  )

  (:objects
    {ob}
  )

  (:obj_of_interest
    {" ".join(interest)}
  )

  (:init
    {(chr(10) + "    ").join(init)}
  )

  (:goal
    (And {" ".join(goal)})
  )

)
"""


def spatial():
    fixtures = [("wooden_cabinet_1", "wooden_cabinet", CABINET), ("flat_stove_1", "flat_stove", STOVE)]
    sites = [("top_region", "wooden_cabinet_1"), ("top_side", "wooden_cabinet_1"), ("cook_region", "flat_stove_1")]
    # (where, {key: xy, None (placed by an init atom) or AUTO}, extra init atoms); the target
    # bowl b1 and what the instruction refers to are placed by hand, the rest automatically.
    a = AUTO
    layouts = [
        ("between_the_plate_and_the_ramekin", dict(plate=(-0.08, 0.16), ramekin=(-0.08, -0.12), b1=(-0.08, 0.01), b2=a, cookies=a), []),
        ("next_to_the_ramekin", dict(ramekin=(0.0, -0.08), b1=(0.0, 0.03), b2=a, plate=a, cookies=a), []),
        ("from_table_center", dict(b1=(-0.02, 0.0), b2=a, plate=a, ramekin=a, cookies=a), []),
        ("on_the_cookie_box", dict(cookies=(-0.06, -0.06), b1=None, b2=a, plate=a, ramekin=a), ["(On akita_black_bowl_1 cookies_1)"]),
        ("in_the_top_drawer_of_the_wooden_cabinet", dict(b1=None, b2=a, plate=a, ramekin=a, cookies=a),
         ["(Open wooden_cabinet_1_top_region)", "(In akita_black_bowl_1 wooden_cabinet_1_top_region)"]),
        ("on_the_ramekin", dict(ramekin=(-0.04, -0.04), b1=None, b2=a, plate=a, cookies=a), ["(On akita_black_bowl_1 glazed_rim_porcelain_ramekin_1)"]),
        ("next_to_the_cookie_box", dict(cookies=(-0.10, -0.10), b1=(-0.10, 0.045), b2=a, plate=a, ramekin=a), []),
        ("on_the_stove", dict(b1=None, b2=a, plate=a, ramekin=a, cookies=a), ["(On akita_black_bowl_1 flat_stove_1_cook_region)"]),
        ("next_to_the_plate", dict(plate=(-0.06, 0.10), b1=(-0.06, -0.045), b2=a, ramekin=a, cookies=a), []),
        ("on_the_wooden_cabinet", dict(b1=None, b2=a, plate=a, ramekin=a, cookies=a), ["(On akita_black_bowl_1 wooden_cabinet_1_top_side)"]),
    ]
    names = {"b1": ("akita_black_bowl_1", "akita_black_bowl"), "b2": ("akita_black_bowl_2", "akita_black_bowl"),
             "plate": ("plate_1", "plate"), "ramekin": ("glazed_rim_porcelain_ramekin_1", "glazed_rim_porcelain_ramekin"),
             "cookies": ("cookies_1", "cookies")}
    out = []
    for where, pos, extra in layouts:
        objects = [(names[k][0], names[k][1], pos[k]) for k in ("b1", "b2", "cookies", "ramekin", "plate")]
        keep = [("drawer_open", DRAWER_OUT)] if "drawer" in where else []
        text = bddl(f"Pick the akita black bowl {where.replace('_', ' ')} and place it on the plate", fixtures, objects,
                    extra, ["(On akita_black_bowl_1 plate_1)"], site_regions=sites, keep_out=keep)
        out.append((f"pick_up_the_black_bowl_{where}_and_place_it_on_the_plate", text))
    return out


GROCERIES = ["alphabet_soup", "cream_cheese", "salad_dressing", "bbq_sauce", "ketchup", "tomato_sauce",
             "butter", "milk", "chocolate_pudding", "orange_juice"]


def object_suite():
    out = []
    for i, target in enumerate(GROCERIES):
        others = [g for g in GROCERIES if g != target]
        cats = [others[(i * 3 + k * 2) % len(others)] for k in range(4)]
        cats.insert(i % 5, target)
        objects = [("basket_1", "basket", (0.04, 0.18))] + [(f"{c}_1", c, AUTO) for c in cats]
        text = bddl(f"Pick the {target.replace('_', ' ')} and place it in the basket", [], objects, [],
                    [f"(In {target}_1 basket_1_contain_region)"], site_regions=[("contain_region", "basket_1")])
        out.append((f"pick_up_the_{target}_and_place_it_in_the_basket", text))
    return out


def goal_suite():
    fixtures = [("wooden_cabinet_1", "wooden_cabinet", CABINET), ("flat_stove_1", "flat_stove", STOVE),
                ("wine_rack_1", "wine_rack", RACK)]
    objects = [("akita_black_bowl_1", "akita_black_bowl", AUTO), ("plate_1", "plate", AUTO),
               ("cream_cheese_1", "cream_cheese", AUTO), ("wine_bottle_1", "wine_bottle", AUTO)]
    sites = [("top_region", "wooden_cabinet_1"), ("middle_region", "wooden_cabinet_1"), ("top_side", "wooden_cabinet_1"),
             ("cook_region", "flat_stove_1"), ("top_region", "wine_rack_1")]
    front = STOVE_FRONT
    extra = [("stove_front_region", front, 0.04)]
    goals = [
        ("open_the_middle_drawer_of_the_cabinet", "(Open wooden_cabinet_1_middle_region)"),
        ("put_the_bowl_on_the_stove", "(On akita_black_bowl_1 flat_stove_1_cook_region)"),
        ("put_the_wine_bottle_on_top_of_the_cabinet", "(On wine_bottle_1 wooden_cabinet_1_top_side)"),
        ("open_the_top_drawer_and_put_the_bowl_inside", "(In akita_black_bowl_1 wooden_cabinet_1_top_region)"),
        ("put_the_bowl_on_top_of_the_cabinet", "(On akita_black_bowl_1 wooden_cabinet_1_top_side)"),
        ("push_the_plate_to_the_front_of_the_stove", "(On plate_1 main_table_stove_front_region)"),
        ("put_the_cream_cheese_in_the_bowl", "(On cream_cheese_1 akita_black_bowl_1)"),
        ("turn_on_the_stove", "(Turnon flat_stove_1)"),
        ("put_the_bowl_on_the_plate", "(On akita_black_bowl_1 plate_1)"),
        ("put_the_wine_bottle_on_the_rack", "(On wine_bottle_1 wine_rack_1_top_region)"),
    ]
    keep = [("plate", front), ("drawer_open", DRAWER_OUT)]
    return [(n, bddl(n.replace("_", " ").capitalize(), fixtures, objects, [], [g], extra_regions=extra,
                     site_regions=sites, keep_out=keep)) for n, g in goals]


def long_suite():
    a = AUTO
    basket = ("basket_1", "basket", (0.04, 0.18))
    bsite = [("contain_region", "basket_1")]
    cab = ("wooden_cabinet_1", "wooden_cabinet", CABINET)
    stove = ("flat_stove_1", "flat_stove", STOVE)
    cabsites = [("top_region", "wooden_cabinet_1"), ("top_side", "wooden_cabinet_1")]
    drawer = [("drawer_open", DRAWER_OUT)]
    t = []
    t.append(("put_both_the_alphabet_soup_and_the_tomato_sauce_in_the_basket", [],
              [basket, ("alphabet_soup_1", "alphabet_soup", a), ("cream_cheese_1", "cream_cheese", a),
               ("tomato_sauce_1", "tomato_sauce", a), ("ketchup_1", "ketchup", a)],
              [], ["(In alphabet_soup_1 basket_1_contain_region)", "(In tomato_sauce_1 basket_1_contain_region)"], [], bsite, []))
    t.append(("put_both_the_cream_cheese_box_and_the_butter_in_the_basket", [],
              [basket, ("alphabet_soup_1", "alphabet_soup", a), ("cream_cheese_1", "cream_cheese", a),
               ("milk_1", "milk", a), ("butter_1", "butter", a)],
              [], ["(In cream_cheese_1 basket_1_contain_region)", "(In butter_1 basket_1_contain_region)"], [], bsite, []))
    t.append(("turn_on_the_stove_and_put_the_moka_pot_on_it", [stove],
              [("moka_pot_1", "moka_pot", a), ("akita_black_bowl_1", "akita_black_bowl", a)],
              [], ["(Turnon flat_stove_1)", "(On moka_pot_1 flat_stove_1_cook_region)"], [], [("cook_region", "flat_stove_1")], []))
    t.append(("put_the_black_bowl_in_the_top_drawer_of_the_cabinet_and_close_it", [cab],
              [("akita_black_bowl_1", "akita_black_bowl", a), ("plate_1", "plate", a)],
              ["(Open wooden_cabinet_1_top_region)"],
              ["(In akita_black_bowl_1 wooden_cabinet_1_top_region)", "(Close wooden_cabinet_1_top_region)"], [], cabsites, drawer))
    t.append(("put_the_white_mug_on_the_left_plate_and_put_the_yellow_and_white_mug_on_the_right_plate", [],
              [("plate_1", "plate", (0.0, 0.15)), ("plate_2", "plate", (0.0, -0.15)),
               ("porcelain_mug_1", "porcelain_mug", a), ("white_yellow_mug_1", "white_yellow_mug", a),
               ("red_coffee_mug_1", "red_coffee_mug", a)],
              [], ["(On porcelain_mug_1 plate_1)", "(On white_yellow_mug_1 plate_2)"], [], [], []))
    right = (0.0, -0.10)
    t.append(("put_the_white_mug_on_the_plate_and_put_the_chocolate_pudding_to_the_right_of_the_plate", [],
              [("plate_1", "plate", (0.0, 0.06)), ("porcelain_mug_1", "porcelain_mug", a),
               ("chocolate_pudding_1", "chocolate_pudding", a), ("red_coffee_mug_1", "red_coffee_mug", a)],
              [], ["(On porcelain_mug_1 plate_1)", "(On chocolate_pudding_1 main_table_plate_right_region)"],
              [("plate_right_region", right, 0.03)], [], [("cookies", right)]))
    t.append(("put_both_the_alphabet_soup_and_the_cream_cheese_box_in_the_basket", [],
              [basket, ("tomato_sauce_1", "tomato_sauce", a), ("alphabet_soup_1", "alphabet_soup", a),
               ("butter_1", "butter", a), ("cream_cheese_1", "cream_cheese", a)],
              [], ["(In alphabet_soup_1 basket_1_contain_region)", "(In cream_cheese_1 basket_1_contain_region)"], [], bsite, []))
    t.append(("put_both_moka_pots_on_the_stove", [stove],
              [("moka_pot_1", "moka_pot", a), ("moka_pot_2", "moka_pot", a)],
              [], ["(On moka_pot_1 flat_stove_1_cook_region)", "(On moka_pot_2 flat_stove_1_cook_region)"], [],
              [("cook_region", "flat_stove_1")], []))
    t.append(("put_the_ketchup_in_the_basket_and_put_the_black_bowl_on_the_plate", [],
              [basket, ("plate_1", "plate", (-0.04, -0.16)), ("ketchup_1", "ketchup", a),
               ("akita_black_bowl_1", "akita_black_bowl", a)],
              [], ["(In ketchup_1 basket_1_contain_region)", "(On akita_black_bowl_1 plate_1)"], [], bsite, []))
    t.append(("close_the_top_drawer_of_the_cabinet_and_put_the_black_bowl_on_top_of_it", [cab],
              [("akita_black_bowl_1", "akita_black_bowl", a), ("plate_1", "plate", a)],
              ["(Open wooden_cabinet_1_top_region)"],
              ["(Close wooden_cabinet_1_top_region)", "(On akita_black_bowl_1 wooden_cabinet_1_top_side)"], [], cabsites,
              drawer))
    out = []
    for name, fixtures, objects, init, goal, extra, sites, keep in t:
        out.append((name, bddl(name.replace("_", " ").capitalize(), fixtures, objects, [], goal, extra_regions=extra,
                               site_regions=sites, init_extra=init, keep_out=keep)))
    return out


def suite_toml(name, tasks):
    lines = [f'# Written by tasks/suites/make_suites.py. {DESCRIPTION[name]}.',
             f'name = "{name}"', f'description = "{DESCRIPTION[name]}"', "",
             "[protocol]", f"max_steps = {PROTOCOL[name]}", "wait_steps = 10",
             "wait_action = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0]", 'success = "first_success"',
             "control_hz = 20.0", "init_states = 50", "",
             "[contract]", 'cameras = ["agentview", "handcam_rgb"]', "image_size = 128",
             "opengl_rows = true", "rotate_180 = true", "center_crop_area = 0.9",
             'gripper = "close_is_positive"', "action_dim = 7", "",
             "[scene]", 'robot = "panda"', "table_center_m = [0.525, 0.0, 0.05]",
             "table_half_m = [0.375, 0.55, 0.05]", "workspace_offset_m = [0.5, 0.0]", ""]
    for t, _ in tasks:
        lines += ["[[tasks]]", f'bddl = "{t}.bddl"', ""]
    return "\n".join(lines)


def main():
    for name, tasks in [("libero_style_spatial", spatial()), ("libero_style_object", object_suite()),
                        ("libero_style_goal", goal_suite()), ("libero_style_long", long_suite())]:
        d = os.path.join(HERE, name)
        os.makedirs(d, exist_ok=True)
        for t, text in tasks:
            with open(os.path.join(d, f"{t}.bddl"), "w") as f:
                f.write(text)
        with open(os.path.join(d, "suite.toml"), "w") as f:
            f.write(suite_toml(name, tasks))
        print(f"{name}: {len(tasks)} tasks")
    simpler_suites()
    if PROBLEMS:
        raise SystemExit("layout problems:\n" + "\n".join(PROBLEMS))


# SimplerEnv-style suites (../shared/docs/libero-protocol.md §3, §4(e)) on the WidowX-like
# and Google-like arms: SimplerEnv's task list, step limits and final-step success, with our
# own objects (tasks/src/catalog/simpler.rs) and layouts. Positions are relative to each
# suite's workspace offset; objects get a +-2 cm (WidowX) / +-3 cm (Google) init range.
FOOTPRINT.update({"spoon": 0.078, "towel": 0.106, "carrot": 0.08, "green_cube": 0.022, "yellow_cube": 0.022,
                  "eggplant": 0.08, "coke_can": 0.034, "apple": 0.036})
# name: (robot, hz, max_steps, wait action, gripper convention, cameras, table centre, table half, offset, tasks)
SIMPLER = {
    "simpler_widowx": ("widowx", 5.0, 60, "1.0", "absolute_open_is_positive", '["3rd_view_camera", "wrist_camera"]',
                       "[0.25, 0.0, 0.05]", "[0.35, 0.4, 0.05]", "[0.3, 0.0]",
                       "SimplerEnv Bridge-style tasks on the WidowX-250-like arm (5 Hz, final-step success)"),
    "simpler_google": ("google_arm", 3.0, 80, "-1.0", "close_is_positive", '["overhead_camera"]',
                       "[0.6, 0.0, 0.375]", "[0.35, 0.5, 0.375]", "[0.55, 0.0]",
                       "SimplerEnv Fractal-style tasks on the Google-robot-like arm (3 Hz, final-step success)"),
}


def simpler_widowx():
    j = 0.02
    t = [("put_the_spoon_on_the_towel", [("spoon_1", "spoon", (-0.05, 0.13)), ("towel_1", "towel", (0.06, -0.11))],
          "(On spoon_1 towel_1_top_region)", [("top_region", "towel_1")], None),
         ("put_carrot_on_plate", [("carrot_1", "carrot", (-0.05, 0.12)), ("plate_1", "plate", (0.06, -0.10))],
          "(On carrot_1 plate_1)", [], None),
         ("stack_the_green_block_on_the_yellow_block",
          [("green_cube_1", "green_cube", (-0.02, 0.08)), ("yellow_cube_1", "yellow_cube", (0.04, -0.07))],
          "(On green_cube_1 yellow_cube_1)", [], None),
         ("put_eggplant_into_the_basket", [("eggplant_1", "eggplant", (-0.07, 0.15)), ("basket_1", "basket", (0.07, -0.10))],
          "(In eggplant_1 basket_1_contain_region)", [("contain_region", "basket_1")], 120)]
    return [(n, bddl(n.replace("_", " ").capitalize(), [], objs, [], [g], site_regions=sites, jitter=j), steps)
            for n, objs, g, sites, steps in t]


def simpler_google():
    j = 0.03
    cab = [("wooden_cabinet_1", "wooden_cabinet", (0.2, 0.0))]
    drawer_sites = [("top_region", "wooden_cabinet_1"), ("middle_region", "wooden_cabinet_1")]
    keep = [("drawer_open", (-0.05, 0.0))]
    apple = [("apple_1", "apple", (-0.12, 0.3))]
    out = [("pick_coke_can", bddl("Pick coke can", [], [("coke_can_1", "coke_can", (0.0, 0.0))], [], ["(Up coke_can_1)"],
                                  jitter=j), None),
           ("move_the_coke_can_near_the_apple",
            bddl("Move the coke can near the apple", [],
                 [("coke_can_1", "coke_can", (-0.05, 0.12)), ("apple_1", "apple", (0.05, -0.14)),
                  ("eggplant_1", "eggplant", (0.15, 0.25))], [], ["(Near coke_can_1 apple_1)"], jitter=j), None),
           ("open_the_top_drawer", bddl("Open the top drawer", cab, apple, [], ["(Open wooden_cabinet_1_top_region)"],
                                        site_regions=drawer_sites, keep_out=keep, jitter=j), 113),
           ("close_the_middle_drawer",
            bddl("Close the middle drawer", cab, apple, [], ["(Close wooden_cabinet_1_middle_region)"],
                 site_regions=drawer_sites, keep_out=keep, init_extra=["(Open wooden_cabinet_1_middle_region)"],
                 jitter=j), 113)]
    return out


def simpler_suite_toml(name, tasks):
    robot, hz, steps, grip, convention, cameras, centre, half, offset, description = SIMPLER[name]
    lines = [f"# Written by tasks/suites/make_suites.py. {description}.",
             "# Our own objects, arms and physics: scores are not comparable with SimplerEnv's.",
             f'name = "{name}"', f'description = "{description}"', "",
             "[protocol]", f"max_steps = {steps}", "wait_steps = 0",
             f"wait_action = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, {grip}]", 'success = "final_step"',
             f"control_hz = {hz}", "init_states = 24", "",
             "[contract]", f"cameras = {cameras}", "image_size = 256",
             "opengl_rows = false", "rotate_180 = false",
             f'gripper = "{convention}"', "action_dim = 7", "",
             "[scene]", f'robot = "{robot}"', f"table_center_m = {centre}",
             f"table_half_m = {half}", f"workspace_offset_m = {offset}", ""]
    for t, _, task_steps in tasks:
        lines += ["[[tasks]]", f'bddl = "{t}.bddl"']
        if task_steps is not None:
            lines.append(f"max_steps = {task_steps}")
        lines.append("")
    return "\n".join(lines)


def simpler_suites():
    for name, tasks in [("simpler_widowx", simpler_widowx()), ("simpler_google", simpler_google())]:
        d = os.path.join(HERE, name)
        os.makedirs(d, exist_ok=True)
        for t, text, _ in tasks:
            with open(os.path.join(d, f"{t}.bddl"), "w") as f:
                f.write(text)
        with open(os.path.join(d, "suite.toml"), "w") as f:
            f.write(simpler_suite_toml(name, tasks))
        print(f"{name}: {len(tasks)} tasks")


if __name__ == "__main__":
    main()
